/**
 * What FluxOidcVerify observes and what it concludes. The collectors fill the *Facts types from
 * ARM, Azure DevOps and the cluster; the check functions turn facts into CheckResults without any
 * I/O, so every conclusion (and its cause and fix) is unit-testable from plain objects.
 */
import { MAX_CREDENTIALS_PER_IDENTITY, TOKEN_EXCHANGE_AUDIENCE } from '../azure/federated';
import type { FluxReality } from '../kube/flux-reality';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckGroup = 'azure' | 'devops' | 'cluster' | 'token' | 'reconcile' | 'cleanup';

export interface CheckResult {
  /** Stable id, e.g. `azure.federated-credential:source-controller`; listed in `failedChecks`. */
  id: string;
  group: CheckGroup;
  title: string;
  status: CheckStatus;
  /** What was observed, one fact per line (never a secret). */
  evidence: string[];
  /** For warn/fail: what is wrong, in words a platform engineer acts on. */
  cause?: string;
  /** For warn/fail: the concrete command or task input that fixes it. */
  fix?: string;
  /** Live resources the fix changes (e.g. `fic:<name>`); not rendered, checked by consistency.ts. */
  fixChanges?: string[];
  /** Live resources a passed check shows correct (e.g. `fic:<name>`); not rendered. */
  confirms?: string[];
  /** Check ids that must have failed for this cause to be true (e.g. devops.licence for TF401019); not rendered. */
  implicates?: string[];
  /** The part of `fix` each implicated check stands for; not rendered. */
  fixByCheck?: Record<string, string>;
}

/** The names Verify works with (validated inputs, defaults applied). */
export interface VerifyTarget {
  subscriptionId: string;
  resourceGroup: string;
  clusterName: string;
  /** Identity by name (with identityResourceGroup) or by clientId; at least one is set. */
  identityName?: string;
  identityResourceGroup: string;
  clientId?: string;
  fluxNamespace: string;
  serviceAccounts: string[];
  gitRepositoryName: string;
  kustomizationName: string;
  /** Organization URL without trailing slash, e.g. https://dev.azure.com/contoso. */
  organizationUrl: string;
  project: string;
  repository: string;
  teamName: string;
  /** The branch the pipeline runs on (Build.SourceBranch), when known: FluxManifestPatch's default target. */
  pipelineBranch?: string;
}

export const IMAGE_AUTOMATION_SA = 'image-automation-controller';
export const SOURCE_SA = 'source-controller';
// One source for the audience and the limit, shared with what Provision writes.
export const TOKEN_AUDIENCE = TOKEN_EXCHANGE_AUDIENCE;
export const FIC_LIMIT = MAX_CREDENTIALS_PER_IDENTITY;

/** Does this run need Contribute (image automation pushes)? */
export function needsContribute(target: Pick<VerifyTarget, 'serviceAccounts'>): boolean {
  return target.serviceAccounts.includes(IMAGE_AUTOMATION_SA);
}

export function expectedSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

// ---------------------------------------------------------------- Azure

export interface AksFacts {
  id: string;
  oidcIssuerEnabled: boolean;
  /** `oidcIssuerProfile.issuerURL`, verbatim. */
  issuerUrl?: string;
  workloadIdentityEnabled: boolean;
  location?: string;
  /** Who authorizes Kubernetes API calls on this cluster (from aadProfile). */
  authorization?: 'local' | 'kubernetes-rbac' | 'azure-rbac';
}

export interface IdentityFacts {
  id: string;
  name: string;
  resourceGroup: string;
  clientId: string;
  principalId: string;
  tenantId: string;
}

export interface FederatedCredentialFacts {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface AzureFacts {
  /** null: the cluster does not exist (or the connection cannot see it). */
  cluster: AksFacts | null;
  /** null: not found; the reason says how it was looked up. */
  identity: IdentityFacts | null;
  identityLookup: string;
  federatedCredentials: FederatedCredentialFacts[];
}

// ---------------------------------------------------------------- Azure DevOps

export interface EntitlementFacts {
  /** `accessLevel.accountLicenseType`: express (Basic), advanced, stakeholder, none, ... */
  accountLicenseType: string;
  licenseDisplayName?: string;
  licensingSource?: string;
  msdnLicenseType?: string;
  status?: string;
}

export interface PermissionFacts {
  /** Effective allow bits on `repoV2/{projectId}/{repoId}` for the identity. */
  effectiveAllow: number;
  effectiveDeny: number;
  /** Where the bits come from (the service's effective permissions for the identity). */
  source: string;
  /** When Read or Contribute is missing: the identity's groups that hold entries on the token chain. */
  via: string[];
}

export interface DevOpsFacts {
  /** Tenant the organization is connected to, and how it was learnt. */
  organizationTenantId?: string;
  organizationTenantSource?: string;
  repository: { id: string; name: string; projectId: string; defaultBranch?: string } | null;
  /** The identity's service principal in the organization (Graph), null when absent. */
  servicePrincipal: { descriptor: string; displayName?: string; originId?: string; applicationId?: string } | null;
  entitlement: EntitlementFacts | null;
  team: { id: string; name: string } | null;
  /** Direct member of the team. */
  teamMember: boolean;
  permissions: PermissionFacts | null;
  /** A read that failed (the check reports it instead of guessing). */
  errors: Record<string, string>;
}

// ---------------------------------------------------------------- Cluster

export interface ContainerFacts {
  name: string;
  image: string;
  args: string[];
  env: Record<string, string>;
}

export interface DeploymentFacts {
  name: string;
  labels: Record<string, string>;
  templateLabels: Record<string, string>;
  serviceAccountName: string;
  containers: ContainerFacts[];
  readyReplicas: number;
  replicas: number;
  /** The pod-template hash of the current ReplicaSet is not knowable without RS reads; generation is. */
  generation?: number;
  observedGeneration?: number;
}

export interface PodFacts {
  name: string;
  phase: string;
  ready: boolean;
  startTime?: string;
  labels: Record<string, string>;
  serviceAccountName: string;
  /** Env of the controller's main container (first container). */
  env: Record<string, string>;
  hasProjectedTokenVolume: boolean;
}

export interface ServiceAccountFacts {
  name: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export interface GitRepositoryFacts {
  apiVersion: string;
  url: string;
  provider?: string;
  secretRefName?: string;
  /** Keys of the referenced Secret (never values), when it could be read. */
  secretKeys?: string[];
  serviceAccountName?: string;
  branch?: string;
}

export interface ControllerFacts {
  serviceAccount: string;
  sa: ServiceAccountFacts | null;
  deployment: DeploymentFacts | null;
  pods: PodFacts[];
}

export interface ClusterFacts {
  controllers: ControllerFacts[];
  /** source-controller's Deployment even when it is not in serviceAccounts (version, feature gates). */
  sourceController: DeploymentFacts | null;
  imageAutomationController: DeploymentFacts | null;
  gitRepository: GitRepositoryFacts | null;
  /** The ServiceAccounts and Flux controllers the cluster really runs (inputs are checked against them). */
  reality?: FluxReality;
  /** Why the GitRepository could not be read, when it could not. */
  gitRepositoryError?: string;
}

// ---------------------------------------------------------------- Token proof

export type Outcome<T> = ({ ok: true } & T) | { ok: false; error: string; status?: number };

export interface TokenProofFacts {
  serviceAccount: string;
  /** Claims of the minted service-account token (never the token). */
  tokenRequest: Outcome<{ issuer: string; subject: string; audiences: string[]; expiresAt?: string }>;
  exchange?: Outcome<{ expiresOn?: string }>;
  repoRead?: Outcome<{ refs: number; head?: string }>;
  /** Only for image automation: GenericContribute evaluated for the exchanged token's caller. */
  contribute?: Outcome<{ allowed: boolean }>;
}

// ---------------------------------------------------------------- Reconcile

export interface FluxCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ReconcileFacts {
  kind: 'GitRepository' | 'Kustomization' | 'ImageUpdateAutomation';
  name: string;
  /** null: the object does not exist. */
  found: boolean;
  requested: boolean;
  outcome: 'ready' | 'failed' | 'timeout' | 'not-requested' | 'missing';
  ready?: FluxCondition;
  revision?: string;
  /** ImageUpdateAutomation: last push commit/time. */
  lastPushCommit?: string;
  lastPushTime?: string;
  waitedSeconds?: number;
  /** Why it was not reconciled (e.g. its source failed first). */
  note?: string;
}
