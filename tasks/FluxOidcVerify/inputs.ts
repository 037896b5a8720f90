/**
 * FluxOidcVerify's inputs, read and validated before any network call: a bad value fails the run
 * with an error naming the input and the fix.
 */
import {
  InputError,
  PipelineVariables,
  readBool,
  readConnection,
  readEnum,
  readGuid,
  readInt,
  readList,
  readString,
  readUrl,
} from '../common/pipeline/inputs';
import { NAME_RULES, SERVICE_ACCOUNT_ITEMS } from '../common/pipeline/names';
import type { Platform } from '../common/pipeline/platform';
import type { VerifyTarget } from '../common/verify/model';
import { CHECK_GROUPS, type SelectableGroup } from '../common/verify/verify';

export const DEFAULT_SERVICE_ACCOUNTS = ['source-controller', 'image-automation-controller'] as const;
export const DEFAULT_TEAM = 'AKS Managed Identities Team';

export interface VerifyInputs {
  target: VerifyTarget;
  azureSubscription: string;
  /** The input whose connection is used for Azure DevOps (devopsConnection, or azureSubscription). */
  devopsConnectionInput: string;
  kubernetesServiceConnection: string | undefined;
  clusterCredentials: 'user' | 'admin';
  groups: Set<SelectableGroup>;
  reconcile: boolean;
  timeoutSeconds: number;
  failOn: 'error' | 'warning';
  retireStaticCredentials: boolean;
}

export function readVerifyInputs(p: Platform): VerifyInputs {
  const azureSubscription = readConnection(p, {
    name: 'azureSubscription',
    label: 'Azure Resource Manager connection',
    required: true,
  });
  const resourceGroup = readString(p, {
    name: 'resourceGroup',
    label: 'Resource group',
    required: true,
    ...NAME_RULES.resourceGroup,
  });
  const clusterName = readString(p, {
    name: 'clusterName',
    label: 'AKS cluster name',
    required: true,
    ...NAME_RULES.aksCluster,
  });
  const clientId = readGuid(p, {
    name: 'clientId',
    label: 'Managed identity client id',
    what: "the identity's client id (FluxOidcProvision output clientId)",
  });
  // Without a clientId the identity is found by name, defaulting to what FluxOidcProvision creates.
  const identityName = readString(p, {
    name: 'identityName',
    label: 'Managed identity name',
    ...NAME_RULES.managedIdentity,
    ...(clientId ? {} : { default: `flux-${clusterName}` }),
  });
  const identityResourceGroup = readString(p, {
    name: 'identityResourceGroup',
    label: 'Managed identity resource group',
    default: resourceGroup,
    ...NAME_RULES.resourceGroup,
  });
  const kubernetesServiceConnection = readConnection(p, {
    name: 'kubernetesServiceConnection',
    label: 'Kubernetes service connection',
  });
  const clusterCredentials = readEnum(p, {
    name: 'clusterCredentials',
    label: 'Cluster credentials',
    values: ['user', 'admin'] as const,
    default: 'user',
  });
  const fluxNamespace = readString(p, {
    name: 'fluxNamespace',
    label: 'Flux namespace',
    default: 'flux-system',
    ...NAME_RULES.namespace,
  });
  const serviceAccounts = readList(p, {
    name: 'serviceAccounts',
    label: 'Flux service accounts',
    default: DEFAULT_SERVICE_ACCOUNTS,
    required: true,
    ...SERVICE_ACCOUNT_ITEMS,
    maxItems: 20,
  });
  if (serviceAccounts.length === 0)
    throw new InputError('serviceAccounts', 'Flux service accounts', 'is empty', 'list at least source-controller');
  const gitRepositoryName = readString(p, {
    name: 'gitRepositoryName',
    label: 'GitRepository name',
    default: 'flux-system',
    ...NAME_RULES.kubernetesObject,
  });
  const kustomizationName = readString(p, {
    name: 'kustomizationName',
    label: 'Kustomization name',
    default: 'flux-system',
    ...NAME_RULES.kubernetesObject,
  });
  const devopsConnection = readConnection(p, { name: 'devopsConnection', label: 'Azure DevOps connection' });
  const organizationUrl = readUrl(p, {
    name: 'organizationUrl',
    label: 'Organization URL',
    defaultFromVariable: PipelineVariables.collectionUri,
    required: true,
    example: 'https://dev.azure.com/contoso',
  });
  const project = readString(p, {
    name: 'project',
    label: 'Project',
    defaultFromVariable: PipelineVariables.teamProject,
    required: true,
    maxLength: 64,
  });
  const repository = readString(p, {
    name: 'repository',
    label: 'Repository',
    defaultFromVariable: PipelineVariables.repositoryName,
    required: true,
    maxLength: 256,
  });
  const teamName = readString(p, { name: 'teamName', label: 'Team', default: DEFAULT_TEAM, ...NAME_RULES.team });
  const checks = readList(p, { name: 'checks', label: 'Checks', default: CHECK_GROUPS });
  const unknown = checks.filter((c) => !(CHECK_GROUPS as readonly string[]).includes(c.toLowerCase()));
  if (unknown.length > 0)
    throw new InputError(
      'checks',
      'Checks',
      `unknown check group ${unknown.map((u) => `'${u}'`).join(', ')}`,
      `use any of ${CHECK_GROUPS.join(', ')} (comma-separated)`,
    );
  if (checks.length === 0)
    throw new InputError('checks', 'Checks', 'selects no check group', `use any of ${CHECK_GROUPS.join(', ')}`);
  const reconcile = readBool(p, { name: 'reconcile', label: 'Reconcile and wait', default: true });
  const timeoutSeconds = readInt(p, {
    name: 'timeoutSeconds',
    label: 'Timeout (seconds)',
    default: 300,
    min: 30,
    max: 3600,
    unit: 'seconds',
  });
  const failOn = readEnum(p, {
    name: 'failOn',
    label: 'Fail on',
    values: ['error', 'warning'] as const,
    default: 'error',
  });
  const retireStaticCredentials = readBool(p, {
    name: 'retireStaticCredentials',
    label: 'Retire static Git credentials',
    default: false,
  });
  // The branch FluxManifestPatch commits to by default; a pull request or tag build is no branch.
  const sourceBranch = p.variable(PipelineVariables.sourceBranch);
  const pipelineBranch = sourceBranch && !/^refs\/(pull|tags)\//.test(sourceBranch) ? sourceBranch : undefined;
  return {
    target: {
      subscriptionId: '',
      resourceGroup,
      clusterName,
      identityResourceGroup,
      fluxNamespace,
      serviceAccounts,
      gitRepositoryName,
      kustomizationName,
      organizationUrl,
      project,
      repository,
      teamName,
      ...(identityName ? { identityName } : {}),
      ...(clientId ? { clientId } : {}),
      ...(pipelineBranch ? { pipelineBranch } : {}),
    },
    azureSubscription,
    devopsConnectionInput: devopsConnection ? 'devopsConnection' : 'azureSubscription',
    kubernetesServiceConnection,
    clusterCredentials,
    groups: new Set(checks.map((c) => c.toLowerCase() as SelectableGroup)),
    reconcile,
    timeoutSeconds,
    failOn,
    retireStaticCredentials,
  };
}
