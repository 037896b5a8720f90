/**
 * State section of the emulated Kubernetes clusters (owned by test/emulators/kube/).
 *
 * A cluster is described compactly (who may call it, which Flux is installed and where it was
 * bootstrapped from) and, once it has run, by its live objects. When `objects` is empty the
 * cluster "boots" on first contact the way `flux bootstrap` leaves a cluster: Flux components
 * installed, the bootstrap Secret created, GitRepository + Kustomization `flux-system` applied,
 * then the controllers reconcile from the repository (so the repo decides what the cluster ends
 * up with). A dumped state carries the objects and is resumed as is.
 */

/** Any Kubernetes object, as JSON (what the API server stores). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  managedFields?: ManagedFieldsEntry[];
  generateName?: string;
  finalizers?: string[];
  [field: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Who may call a cluster besides its admin certificate. */
export interface KubeAccessGrant {
  /** Kubernetes user name: for Entra principals the object id (`oid`), as AKS maps it. */
  user?: string;
  group?: string;
  /** `namespace:name` of a ServiceAccount. */
  serviceAccount?: string;
  /** A built-in ClusterRole (cluster-admin, admin, edit, view) or one of the cluster's `roles`. */
  role: string;
  /** Bind in this namespace only (RoleBinding); cluster-wide (ClusterRoleBinding) when absent. */
  namespace?: string;
}

/** A ClusterRole: name and RBAC rules (https://kubernetes.io/docs/reference/access-authn-authz/rbac/). */
export interface KubeRoleState {
  name: string;
  rules: {
    apiGroups?: string[];
    resources?: string[];
    verbs: string[];
    resourceNames?: string[];
    nonResourceURLs?: string[];
  }[];
}

/** A static bearer token (a "local account" or a Kubernetes service connection's token). */
export interface KubeStaticToken {
  token: string;
  user: string;
  groups?: string[];
}

/** How `flux bootstrap` set the cluster up. */
export interface FluxBootstrap {
  /** Flux version installed by the bootstrap (controller image tags follow it), e.g. "2.4.0". */
  version: string;
  namespace: string;
  /** Controllers installed (source-controller and kustomize-controller at least). */
  components: string[];
  /** GitRepository `flux-system` URL, e.g. `ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet`. */
  url: string;
  branch: string;
  /** Kustomization `flux-system` path, e.g. `clusters/prod`. */
  path: string;
  /** Name of the bootstrap Git Secret (`flux-system`). */
  secretName: string;
  /**
   * Kind of the bootstrap Secret: `ssh` (identity, identity.pub, known_hosts, as `flux bootstrap`
   * writes for an SSH URL) or `basic` (username + password: a PAT, `flux bootstrap git --token-auth`).
   */
  secretType: 'ssh' | 'basic';
  /**
   * SSH shortcut (the emulator has no SSH server): the bootstrap SSH key is treated as a deploy key
   * registered in Azure DevOps when true; the repository is then read through the Azure DevOps
   * emulator's smart HTTP with the build identity.
   */
  sshKeyRegistered?: boolean;
  /**
   * PAT for `secretType: basic` (with an HTTPS `url`). Absent: the build identity's token, which the
   * Azure DevOps emulator accepts as a Basic password, so the cluster boots.
   */
  password?: string;
}

/** A tag list per image in the emulated container registry (image-reflector-controller scans it). */
export type RegistryTags = Record<string, string[]>;

export interface KubeClusterState {
  /** ARM resource id of the managed cluster in the azure section (flags, issuer URL, tenant). */
  resourceId: string;
  /** Shown by /version. */
  kubernetesVersion?: string;
  /** ClusterRoles created with the cluster besides the built-in ones (e.g. a least-privilege role). */
  roles?: KubeRoleState[];
  /** Bindings of users / groups / service accounts to ClusterRoles (become (Cluster)RoleBindings). */
  access?: KubeAccessGrant[];
  staticTokens?: KubeStaticToken[];
  bootstrap?: FluxBootstrap;
  registry?: RegistryTags;
  /** Live objects; empty means "not booted yet" (see the module comment). */
  objects: KubeObject[];
  /** Last resourceVersion handed out (so a resumed dump keeps counting up). */
  resourceVersion?: number;
}

export interface KubeState {
  /** Clusters by name: the API server serves each under `/clusters/{name}`. */
  clusters: Record<string, KubeClusterState>;
}
