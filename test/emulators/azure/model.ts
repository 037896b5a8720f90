/**
 * State section of the emulated Azure services (owned by test/emulators/azure/): the Entra ID tenant
 * (app registrations with their secrets, certificates and federated credentials), subscriptions,
 * resource groups, role assignments, user-assigned managed identities with their federated
 * credentials, AKS clusters, and the behaviour knobs tests turn (token lifetime, replication delay,
 * busy cluster, slow/failing LROs, FIC write duration).
 *
 * Values that embed an emulator URL may be written with a `${host}` placeholder in YAML
 * (`${devops-issuer}/a0c4...`); see scenarios/. Times (`createdAt`) are emulated-clock ms.
 */

export interface AzureState {
  tenant: TenantState;
  subscriptions: SubscriptionState[];
  /**
   * Role assignments. `scope` is a subscription (`/subscriptions/{id}`), a resource group
   * (`/subscriptions/{id}/resourceGroups/{rg}`) or a resource id; it covers everything below it.
   */
  roleAssignments: RoleAssignmentState[];
  /** Custom role definitions of the tenant (built-in roles are known to the emulator). */
  roleDefinitions?: RoleDefinitionState[];
  /** ARM behaviour knobs. */
  arm?: ArmSettings;
}

export interface TenantState {
  id: string;
  /** The tenant's initial domain, e.g. contoso.onmicrosoft.com (usable instead of the id in URLs). */
  domain: string;
  displayName?: string;
  /** Lifetime of issued access tokens, seconds (default 3599, as Entra's `expires_in`). */
  accessTokenLifetimeSeconds?: number;
  /**
   * Emulated-clock ms before a managed identity created through ARM is visible in the directory
   * (token requests get AADSTS700016 and `ctx.entra.principal()` returns undefined until then).
   * Default 0: visible at once.
   */
  replicationDelayMs?: number;
  /**
   * Emulated-clock ms before a new or changed federated credential is honoured by the token endpoint
   * (AADSTS70021 until then, as the documented propagation delay). Default 0.
   */
  ficPropagationDelayMs?: number;
  /**
   * `detailed` (default): federation mismatches answer AADSTS700211 (issuer) / 700213 (subject) /
   * 700212 (audience); `generic`: always AADSTS70021 with the assertion's issuer, subject and
   * audience (the form older tenants and the AKS troubleshooting guide show).
   */
  federationErrors?: 'detailed' | 'generic';
  applications: ApplicationState[];
}

/** An app registration together with its service principal in this tenant. */
export interface ApplicationState {
  displayName: string;
  /** Application (client) id. */
  appId: string;
  /** Object id of the service principal (the token's `oid`, what role assignments name). */
  servicePrincipalObjectId: string;
  secrets?: AppSecretState[];
  certificates?: AppCertificateState[];
  federatedIdentityCredentials?: FederatedCredentialState[];
  /**
   * Marks the app registration behind an Azure Resource Manager service connection: the cloud
   * derives `Cloud.serviceConnections` and the connection's ENDPOINT_* variables from it.
   */
  serviceConnection?: ServiceConnectionBinding;
}

export interface ServiceConnectionBinding {
  id: string;
  name: string;
  /** Default WorkloadIdentityFederation. ServicePrincipal uses the app's first secret. */
  scheme?: 'WorkloadIdentityFederation' | 'ServicePrincipal';
  /** Default: the first subscription. */
  subscriptionId?: string;
}

export interface AppSecretState {
  /** Shown as the key id in messages; never the value. */
  id?: string;
  value: string;
  /** ISO date; an expired secret is refused (AADSTS7000222). */
  expiresOn?: string;
}

export interface AppCertificateState {
  /** PEM of the public certificate (what is uploaded to the app registration). */
  certificatePem: string;
}

export interface FederatedCredentialState {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description?: string;
  /** Emulated-clock ms of the last write (drives the propagation delay). */
  createdAt?: number;
}

export interface SubscriptionState {
  id: string;
  displayName: string;
  resourceGroups: ResourceGroupState[];
}

export interface ResourceGroupState {
  name: string;
  location: string;
  identities: IdentityState[];
  clusters: ClusterState[];
}

export interface IdentityState {
  name: string;
  location: string;
  tags?: Record<string, string>;
  clientId: string;
  principalId: string;
  isolationScope?: 'None' | 'Regional';
  /** Emulated-clock ms of creation (drives the tenant's replication delay). */
  createdAt?: number;
  federatedIdentityCredentials: FederatedCredentialState[];
}

export interface ClusterState {
  name: string;
  location: string;
  kubernetesVersion: string;
  tags?: Record<string, string>;
  dnsPrefix?: string;
  nodeCount?: number;
  oidcIssuer: {
    enabled: boolean;
    /** The uuid in the issuer URL `{aks-issuer}/{tenantId}/{issuerId}/` (generated on enable when absent). */
    issuerId?: string;
    /** Overrides the computed issuer URL (odd formats: old `oidc.prod-aks` form, no trailing slash...). */
    issuerUrl?: string;
  };
  workloadIdentity: boolean;
  /**
   * Microsoft Entra integration (ManagedClusterAADProfile). Absent: a cluster with local accounts
   * only; its user kubeconfig is a client certificate and the API server accepts no Entra token.
   * `managed`: Entra tokens for the AKS server app authenticate; Kubernetes RBAC authorizes them.
   * `enableAzureRbac`: Azure role assignments (data actions) authorize too (Azure RBAC for
   * Kubernetes authorization). https://learn.microsoft.com/azure/aks/concepts-identity
   */
  aadProfile?: { managed: true; enableAzureRbac?: boolean; adminGroupObjectIDs?: string[] };
  /** Local accounts disabled: listClusterAdminCredential is refused (Entra-integrated clusters only). */
  disableLocalAccounts?: boolean;
  /** Default Succeeded; Updating/Creating while an operation runs. */
  provisioningState?: string;
  /** Changes on every successful write. */
  eTag?: string;
  /**
   * Another operation holds the cluster: every write answers 409 OperationNotAllowed.
   * `rejections`: clears itself after that many rejected writes (absent: stays until changed).
   */
  busy?: { operation?: string; rejections?: number };
  /** How the next PUT long-running operations behave. */
  lro?: LroBehaviour;
}

export interface LroBehaviour {
  /** Status reads that still answer InProgress before the operation finishes (default 0). */
  inProgressPolls?: number;
  /** Real milliseconds the operation takes (default 0). */
  durationMs?: number;
  /** Emulated-clock milliseconds the operation takes (default 0; advance the clock to finish). */
  clockMs?: number;
  /** Retry-After seconds on the PUT and on InProgress status reads (default 1). */
  retryAfterSeconds?: number;
  /** The next `count` operations (default 1) end Failed with this error (cluster changes not applied). */
  fail?: { count?: number; code?: string; message?: string };
}

export interface ArmSettings {
  /**
   * Emulated-clock milliseconds a federated-credential write holds its identity (default 40; real ms
   * at real time, shorter in real terms on a cloud that runs faster for time-scaled tasks, see
   * Clock.sleep). A second write on the same identity inside that window gets 409
   * ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity.
   */
  ficWriteMs?: number;
  /** Federated credentials allowed per identity (default 20, Entra's documented limit). */
  maxFicsPerIdentity?: number;
}

export interface RoleAssignmentState {
  /** The assignment's name (a GUID); generated when absent. */
  id?: string;
  /** Service principal object id. */
  principalId: string;
  /**
   * Role name (or a custom role's name): Owner, Contributor, Reader, User Access Administrator,
   * Managed Identity Contributor / Operator, Azure Kubernetes Service Contributor Role, Cluster
   * User Role, Cluster Admin Role, and the AKS data roles Azure Kubernetes Service RBAC Reader /
   * Writer / Admin / Cluster Admin (see arm/rbac.ts).
   */
  role: string;
  /** A subscription, resource group or resource id; `{clusterId}/namespaces/{ns}` for an AKS namespace. */
  scope: string;
}

/** A custom role (Microsoft.Authorization/roleDefinitions, type CustomRole). */
export interface RoleDefinitionState {
  /** GUID (the definition's name). */
  id: string;
  roleName: string;
  description?: string;
  assignableScopes: string[];
  permissions: { actions?: string[]; notActions?: string[]; dataActions?: string[]; notDataActions?: string[] }[];
}
