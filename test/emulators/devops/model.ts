/**
 * State section of the emulated Azure DevOps services (owned by test/emulators/devops/): the
 * organization, its identities (Entra principals with their licence, the build service, groups and
 * teams with their members), projects with Git repositories (seeded from folders into real git
 * repositories on disk), access control lists, service connections, the pipeline run the agent
 * emulation pretends to be, and fault knobs.
 *
 * Identities are referred to by their Azure DevOps storage key (`id`): group `members` list ids,
 * and ACEs name the legacy identity descriptor (`Microsoft.TeamFoundation.Identity;S-1-9-…`), as the
 * security REST API does. Git content is not part of the state: the repositories live under
 * `ctx.workDir` and are rebuilt when a cloud starts: from `history` (a git bundle a dump wrote), else
 * from `seed`.
 */

/** Licences ("access levels") as `accountLicenseType` names them. `express` is Basic. */
export type AccountLicense = 'none' | 'earlyAdopter' | 'express' | 'professional' | 'advanced' | 'stakeholder';

export interface DevOpsState {
  organization: OrganizationState;
  /** Users, service principals (incl. managed identities) and build service identities. */
  principals: PrincipalState[];
  /** Organization and project groups, teams included (`kind: team`). */
  groups: GroupState[];
  projects: ProjectState[];
  /** Access control lists, per security namespace and token. */
  acls: AclState[];
  serviceConnections: ServiceConnectionState[];
  /** The pipeline job the emulated agent runs (System.AccessToken, System.OidcRequestUri). */
  pipeline: PipelineState;
  faults?: DevOpsFaults;
}

export interface OrganizationState {
  name: string;
  /** Organization (collection host) id: the vstoken issuer path and `instanceId`. */
  id: string;
  /** The Entra tenant the organization is connected to: only its principals can be added. */
  tenantId: string;
  /**
   * The organization's primary URL (Organization settings > Overview): `new` is
   * https://dev.azure.com/{org}, `legacy` https://{org}.visualstudio.com, the default of
   * organizations created before 2018-09-10. It is the URL the pipeline variables carry
   * (System.CollectionUri, Build.Repository.Uri); the REST APIs answer on both forms either way
   * (learn.microsoft.com/azure/devops/extend/develop/work-with-urls, "Primary URL"). Default: the
   * emulator's own address (https://127.0.0.1:PORT/{org}); `legacy` and `new` need the cloud's
   * edge (core/edge.ts), which the cloud then hands to tasks as the agent's proxy.
   */
  primaryUrl?: 'new' | 'legacy';
}

export interface PrincipalState {
  kind: 'servicePrincipal' | 'user' | 'build';
  /** Azure DevOps storage key: identity id, entitlement id, subject descriptor payload. */
  id: string;
  displayName: string;
  /** Entra object id (users and service principals). */
  originId?: string;
  /** Application (client) id (service principals). */
  applicationId?: string;
  /** User principal name (users). */
  principalName?: string;
  /** Build service identities: the project whose build service this is. */
  projectId?: string;
  /**
   * The entitlement. Absent: the principal was only materialized in Graph and is not active in
   * the organization (a call with its token gets TF401444). Not used for build identities.
   */
  license?: AccountLicense;
  /** ISO dates of the entitlement; lastAccessedDate is set on the first authenticated call. */
  dateCreated?: string;
  lastAccessedDate?: string;
}

/**
 * Built-in group semantics. The two `…ValidUsers` kinds have implicit members (every active
 * identity / every identity in one of the project's groups); their `members` lists stay empty.
 */
export type GroupKind =
  | 'collectionAdministrators'
  | 'collectionValidUsers'
  | 'collectionBuildServiceAccounts'
  | 'projectAdministrators'
  | 'projectValidUsers'
  | 'contributors'
  | 'readers'
  | 'buildAdministrators'
  | 'team'
  | 'custom';

export interface GroupState {
  /** Storage key; for teams also the team id (a team is a group). */
  id: string;
  kind: GroupKind;
  displayName: string;
  description?: string;
  /** Project id for project groups and teams; absent for organization groups. */
  projectId?: string;
  /** Security identifier (`S-1-9-…`): the legacy descriptor and `vssgp.` subject descriptor payload. */
  sid: string;
  /** Direct members: principal or group ids. */
  members: string[];
  /** Team administrators (teams only): principal ids. */
  admins?: string[];
}

export interface ProjectState {
  id: string;
  name: string;
  description?: string;
  visibility?: 'private' | 'public';
  /** The project's default team (a group of kind team). */
  defaultTeamId: string;
  repositories: RepositoryState[];
  /**
   * Branch policies (Project settings > Repositories > Policies), as the policy configurations REST
   * API lists them. An enabled, blocking policy scoped to a branch makes that branch accept
   * changes only through pull requests: a push to it answers 403 TF402455.
   */
  policies?: PolicyConfigurationState[];
}

export interface PolicyConfigurationState {
  id: number;
  /** Policy type: e.g. fa4e907d-c16b-4a4c-9dfa-4906e5d171dd (Minimum number of reviewers). */
  typeId: string;
  typeDisplayName: string;
  isEnabled: boolean;
  isBlocking: boolean;
  /** `settings.scope`: repository (absent = every repository of the project) and branch. */
  scope: { repositoryId?: string; refName: string; matchKind: 'Exact' | 'Prefix' }[];
  /** The rest of `settings` (e.g. minimumApproverCount). */
  settings?: Record<string, unknown>;
}

export interface RepositoryState {
  id: string;
  name: string;
  /** Branch name without refs/heads/ (default main). */
  defaultBranch?: string;
  /** Commits made on the default branch when the repository is created, in order. */
  seed: SeedCommit[];
  /**
   * Every ref and commit of the repository as a base64 `git bundle` (written by the cloud's dump).
   * When present the repository is restored from it and `seed` is not replayed, so a state dumped
   * after a run continues with that run's commits, branches and commit ids.
   */
  history?: string;
  pullRequests?: PullRequestState[];
}

export interface SeedCommit {
  message: string;
  /**
   * A folder whose files are written over the previous commit's tree: a bare name is a folder of
   * `test/emulators/devops/seed/`, anything else a path (relative to the working directory).
   */
  folder?: string;
  /** Only the folder's files under these paths (files or directories, repository-relative). */
  include?: string[];
  /** Files (path -> UTF-8 content) written after the folder's. */
  files?: Record<string, string>;
  /** Paths removed from the tree. */
  delete?: string[];
}

export interface PullRequestState {
  pullRequestId: number;
  title: string;
  description: string;
  sourceRefName: string;
  targetRefName: string;
  status: 'active' | 'abandoned' | 'completed';
  isDraft?: boolean;
  /** Storage key of the creator. */
  createdBy: string;
  creationDate: string;
  closedDate?: string;
  sourceCommitId: string;
  targetCommitId: string;
  mergeCommitId?: string;
  mergeId: string;
  reviewers: string[];
}

export interface AclState {
  namespaceId: string;
  token: string;
  /** False stops inheritance from the parent token. */
  inheritPermissions: boolean;
  aces: AceState[];
}

export interface AceState {
  /** Legacy identity descriptor (`Microsoft.TeamFoundation.Identity;S-1-9-…`, `…AadServicePrincipal;{tid}\{oid}`). */
  descriptor: string;
  allow: number;
  deny: number;
}

export interface ServiceConnectionState {
  id: string;
  name: string;
  projectId: string;
  type: 'azurerm';
  authorizationScheme: 'WorkloadIdentityFederation' | 'ServicePrincipal';
  tenantId: string;
  /** Application (client) id of the connection's Entra app. */
  servicePrincipalId: string;
  /** Object id of its service principal. */
  principalObjectId: string;
}

export interface PipelineState {
  projectId: string;
  hubName: string;
  planId: string;
  jobId: string;
  buildId: number;
  /** Repository the run was triggered from (BUILD_REPOSITORY_*). */
  repositoryId: string;
  sourceBranch: string;
}

export interface DevOpsFaults {
  /** The oidctoken endpoint answers this error instead of a token. */
  oidcToken?: { status: number; message: string };
  /** Lifetime of the System.AccessToken hooks.systemAccessToken() issues (default 3900 s). */
  systemAccessTokenLifetimeSeconds?: number;
  /** Every service principal entitlement add answers isSuccess:false with this message. */
  entitlementAddError?: string;
}
