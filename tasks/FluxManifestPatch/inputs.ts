/**
 * FluxManifestPatch's inputs, read and validated before anything is read from disk or the network:
 * a bad value fails the run with an error naming the input and the fix.
 */
import { compareSemVer, parseSemVer } from '../common/flux/version';
import {
  InputError,
  parseGuid,
  PipelineVariables,
  readBool,
  readEnum,
  readGuid,
  readString,
} from '../common/pipeline/inputs';
import { readAzureSubscription, readServiceAccounts } from '../common/pipeline/inputs-groups';
import { NAME_RULES } from '../common/pipeline/names';
import type { Platform } from '../common/pipeline/platform';
import { BRANCH_MISMATCH, type CommitMode, type ManifestPatchInputs } from '../common/patch/run';

export { DEFAULT_SERVICE_ACCOUNTS } from '../common/pipeline/inputs-groups';
export const GIT_AUTH = ['systemAccessToken', 'serviceConnection'] as const;
export const COMMIT_MODES = ['none', 'push', 'pullRequest'] as const;
/** GitRepository `provider: azure` exists from Flux 2.4.0 on. */
const LOWEST_MINIMUM = { major: 2, minor: 4, patch: 0 };

// A git branch name as Azure DevOps accepts it (no spaces, no '..', no control characters, ...).
const BRANCH = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[^\s~^:?*[\\\p{Cc}]+$/u;

export interface ManifestPatchTaskInputs extends ManifestPatchInputs {
  gitAuth: (typeof GIT_AUTH)[number];
  azureSubscription?: string;
  organizationUrl?: string;
  project?: string;
  repository?: string;
}

const CLUSTER = /^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;

/**
 * `clientIds`: one `<cluster>=<clientId>` per line (or comma-separated; `:` works as well as `=`),
 * the cluster being the folder above flux-system. Undefined when empty.
 */
export function readClientIds(p: Platform): Record<string, string> | undefined {
  const raw = p.input('clientIds')?.trim();
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  const bad = (
    problem: string,
    fix = 'write one <cluster>=<clientId> per line, e.g. aks-dev-weu=$(provision_aks_dev_weu.clientId)',
  ) => new InputError('clientIds', 'Client id per cluster', problem, fix);
  for (const item of raw
    .split(/[\n,]+/)
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([^=:\s]+)\s*[=:]\s*(\S+)$/.exec(item);
    if (!m) throw bad(`'${item}' is not <cluster>=<clientId>`);
    const [, cluster, id] = m as unknown as [string, string, string];
    if (!CLUSTER.test(cluster)) throw bad(`'${cluster}' is not a cluster folder name (letters, digits, - and _)`);
    const guid = parseGuid(id);
    if (!guid)
      throw bad(
        `the client id of '${cluster}' ('${id}') is not a GUID`,
        "use the identity's client id (FluxOidcProvision output clientId)",
      );
    if (out[cluster] !== undefined) throw bad(`'${cluster}' is listed twice`, 'list each cluster once');
    out[cluster] = guid;
  }
  return out;
}

type FileInputs = Pick<ManifestPatchTaskInputs, 'workingDirectory' | 'fluxSystemPath'>;
type FluxInputs = Pick<
  ManifestPatchTaskInputs,
  'serviceAccounts' | 'gitRepositoryName' | 'minimumFluxVersion' | 'regenerateComponents'
>;
type CommitInputs = Pick<
  ManifestPatchTaskInputs,
  | 'commitMode'
  | 'gitAuth'
  | 'branchMismatch'
  | 'fallbackToPullRequest'
  | 'azureSubscription'
  | 'targetBranch'
  | 'pullRequestBranch'
  | 'commitMessage'
  | 'pullRequestTitle'
>;

/** Where the flux-system folders are. */
function readFileInputs(p: Platform): FileInputs {
  const workingDirectory =
    readString(p, {
      name: 'workingDirectory',
      label: 'Working directory',
      defaultFromVariable: PipelineVariables.sourcesDirectory,
    }) ?? process.cwd();
  const fluxSystemPath = readString(p, {
    name: 'fluxSystemPath',
    label: 'flux-system folder',
    required: true,
    patternHint:
      'the folder `flux bootstrap` created, relative to the working directory, e.g. clusters/prod/flux-system or clusters/*/flux-system',
  });
  return { workingDirectory, fluxSystemPath };
}

/** The identity Flux signs in as: one client id, or one per cluster folder. */
function readIdentityInputs(p: Platform) {
  const clientIds = readClientIds(p);
  const clientId = readGuid(p, {
    name: 'clientId',
    label: 'Managed identity client id',
    required: !clientIds,
    what: "the managed identity's client id (usually $(provision.clientId))",
  });
  const tenantId = readGuid(p, { name: 'tenantId', label: 'Tenant id', what: 'the Entra ID tenant id' });
  return { clientId, clientIds, tenantId };
}

/** The service accounts, the GitRepository, the lowest Flux version to accept and whether to regenerate. */
function readFluxInputs(p: Platform): FluxInputs {
  const serviceAccounts = readServiceAccounts(p, false);
  if (serviceAccounts.length === 0) {
    throw new InputError(
      'serviceAccounts',
      'Flux service accounts',
      'lists no service account',
      'list at least source-controller',
    );
  }
  const gitRepositoryName = readString(p, {
    name: 'gitRepositoryName',
    label: 'GitRepository name',
    default: 'flux-system',
    pattern: NAME_RULES.kubernetesObject.pattern,
    patternHint: 'the name of the GitRepository in gotk-sync.yaml (a Kubernetes name, e.g. flux-system)',
  });
  const minimumFluxVersion = readMinimumFluxVersion(p);
  const regenerateComponents = readBool(p, {
    name: 'regenerateComponents',
    label: 'Regenerate gotk-components.yaml',
    default: false,
  });
  return { serviceAccounts, gitRepositoryName, minimumFluxVersion, regenerateComponents };
}

function readMinimumFluxVersion(p: Platform): FluxInputs['minimumFluxVersion'] {
  const minRaw = readString(p, { name: 'minimumFluxVersion', label: 'Minimum Flux version', default: '2.4.0' });
  const minimumFluxVersion = parseSemVer(minRaw);
  if (!minimumFluxVersion) {
    throw new InputError(
      'minimumFluxVersion',
      'Minimum Flux version',
      `${JSON.stringify(minRaw)} is not a version`,
      'use a version such as 2.4.0',
    );
  }
  if (compareSemVer(minimumFluxVersion, LOWEST_MINIMUM) < 0) {
    throw new InputError(
      'minimumFluxVersion',
      'Minimum Flux version',
      `${minRaw} is below 2.4.0, the first Flux with GitRepository provider: azure`,
      'use 2.4.0 or later',
    );
  }
  return minimumFluxVersion;
}

/** Whether and how the changed files are committed: mode, Git authentication, branches and texts. */
function readCommitInputs(p: Platform): CommitInputs {
  const commitMode: CommitMode = readEnum(p, {
    name: 'commitMode',
    label: 'Commit',
    values: COMMIT_MODES,
    default: 'none',
  });
  const gitAuth = readEnum(p, {
    name: 'gitAuth',
    label: 'Git authentication',
    values: GIT_AUTH,
    default: 'systemAccessToken',
  });
  const azureSubscription =
    commitMode !== 'none' && gitAuth === 'serviceConnection' ? readAzureSubscription(p) : undefined;
  const targetBranch = readString(p, {
    name: 'targetBranch',
    label: 'Target branch',
    defaultFromVariable: PipelineVariables.sourceBranch,
    pattern: BRANCH,
    patternHint: 'a branch name such as main or refs/heads/main',
  });
  const pullRequestBranch = readString(p, {
    name: 'pullRequestBranch',
    label: 'Pull request branch',
    pattern: BRANCH,
    patternHint: 'a branch name such as flux-oidc/prod',
  });
  const fallbackToPullRequest =
    commitMode === 'push'
      ? readBool(p, {
          name: 'fallbackToPullRequest',
          label: 'Open a pull request when the branch requires one',
          default: false,
        })
      : false;
  const branchMismatch = readEnum(p, {
    name: 'branchMismatch',
    label: 'When Flux syncs another branch',
    values: BRANCH_MISMATCH,
    default: 'warn',
  });
  const commitMessage = readString(p, { name: 'commitMessage', label: 'Commit message', maxLength: 4000 });
  const pullRequestTitle = readString(p, { name: 'pullRequestTitle', label: 'Pull request title', maxLength: 400 });
  return {
    commitMode,
    gitAuth,
    branchMismatch,
    ...(fallbackToPullRequest ? { fallbackToPullRequest } : {}),
    ...(azureSubscription ? { azureSubscription } : {}),
    ...(targetBranch ? { targetBranch } : {}),
    ...(pullRequestBranch ? { pullRequestBranch } : {}),
    ...(commitMessage ? { commitMessage } : {}),
    ...(pullRequestTitle ? { pullRequestTitle } : {}),
  };
}

/** A commit needs a branch to commit to and the build's own Azure Repos Git repository, which this returns. */
function commitTarget(
  p: Platform,
  targetBranch: string | undefined,
): Pick<ManifestPatchTaskInputs, 'organizationUrl' | 'project' | 'repository'> {
  const fix = 'set targetBranch to the branch Flux syncs from, e.g. main';
  if (!targetBranch) {
    throw new InputError(
      'targetBranch',
      'Target branch',
      `no branch was given and the pipeline variable ${PipelineVariables.sourceBranch} is not set`,
      fix,
    );
  }
  // A pull request or tag build sets Build.SourceBranch to refs/pull/… or refs/tags/….
  if (targetBranch.startsWith('refs/') && !targetBranch.startsWith('refs/heads/')) {
    throw new InputError(
      'targetBranch',
      'Target branch',
      `${targetBranch} is not a branch to commit to (a pull request or tag build sets Build.SourceBranch to it)`,
      fix,
    );
  }
  // The build's own repository, as the agent describes it.
  const provider = p.variable('Build.Repository.Provider');
  if (provider && provider !== 'TfsGit') {
    throw new InputError(
      'commitMode',
      'Commit',
      `the build repository is a ${provider} repository, not an Azure Repos Git one`,
      'use commitMode: none and commit the files with your own steps',
    );
  }
  const organizationUrl = p.variable(PipelineVariables.collectionUri)?.replace(/\/+$/, '');
  const project = p.variable(PipelineVariables.teamProjectId) ?? p.variable(PipelineVariables.teamProject);
  const repository = p.variable('Build.Repository.ID') ?? p.variable(PipelineVariables.repositoryName);
  if (!organizationUrl || !project || !repository) {
    throw new InputError(
      'commitMode',
      'Commit',
      'the build repository is unknown (System.CollectionUri, System.TeamProject or Build.Repository.ID is not set)',
      'run the task in a pipeline whose repository is an Azure Repos Git repository, or use commitMode: none',
    );
  }
  return { organizationUrl, project, repository };
}

export function readManifestPatchInputs(p: Platform): ManifestPatchTaskInputs {
  const files = readFileInputs(p);
  const { clientId, clientIds, tenantId } = readIdentityInputs(p);
  const flux = readFluxInputs(p);
  const commit = readCommitInputs(p);
  return {
    ...files,
    clientId: clientId ?? '',
    ...(clientIds ? { clientIds } : {}),
    ...flux,
    ...(tenantId ? { tenantId } : {}),
    ...commit,
    ...(commit.commitMode !== 'none' ? commitTarget(p, commit.targetBranch) : {}),
  };
}
