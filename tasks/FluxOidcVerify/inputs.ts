/**
 * FluxOidcVerify's inputs, read and validated before any network call: a bad value fails the run
 * with an error naming the input and the fix.
 */
import {
  InputError, PipelineVariables, readBool, readConnection, readEnum, readGuid, readInt, readList, readString, readUrl,
} from '../common/pipeline/inputs';
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

const RESOURCE_GROUP = /^[-\w.()]{1,89}[-\w()]$|^[-\w()]$/;
const CLUSTER = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;
const IDENTITY = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TEAM = /^(?! )[^\\/:*?"<>|;#$*{},+=[\]]{1,64}(?<! )$/;

export function readVerifyInputs(p: Platform): VerifyInputs {
  const azureSubscription = readConnection(p, { name: 'azureSubscription', label: 'Azure Resource Manager connection', required: true });
  const resourceGroup = readString(p, {
    name: 'resourceGroup', label: 'Resource group', required: true, pattern: RESOURCE_GROUP,
    patternHint: "the cluster's resource group: 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
  });
  const clusterName = readString(p, {
    name: 'clusterName', label: 'AKS cluster name', required: true, pattern: CLUSTER,
    patternHint: "1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
  });
  const clientId = readGuid(p, { name: 'clientId', label: 'Managed identity client id', what: 'the identity\'s client id (FluxOidcProvision output clientId)' });
  // Without a clientId the identity is found by name, defaulting to what FluxOidcProvision creates.
  const identityName = readString(p, {
    name: 'identityName', label: 'Managed identity name', pattern: IDENTITY, ...(clientId ? {} : { default: `flux-${clusterName}` }),
    patternHint: "3-128 letters, digits, '-' or '_', starting with a letter or digit",
  });
  const identityResourceGroup = readString(p, {
    name: 'identityResourceGroup', label: 'Managed identity resource group', default: resourceGroup, pattern: RESOURCE_GROUP,
    patternHint: "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
  });
  const kubernetesServiceConnection = readConnection(p, { name: 'kubernetesServiceConnection', label: 'Kubernetes service connection' });
  const clusterCredentials = readEnum(p, { name: 'clusterCredentials', label: 'Cluster credentials', values: ['user', 'admin'] as const, default: 'user' });
  const fluxNamespace = readString(p, {
    name: 'fluxNamespace', label: 'Flux namespace', default: 'flux-system', pattern: NAMESPACE,
    patternHint: "a Kubernetes namespace name: 1-63 lower-case letters, digits or '-'",
  });
  const serviceAccounts = readList(p, {
    name: 'serviceAccounts', label: 'Flux service accounts', default: DEFAULT_SERVICE_ACCOUNTS, required: true,
    itemPattern: DNS_SUBDOMAIN, itemHint: "a Kubernetes service account name (lower-case letters, digits, '-' and '.')", maxItems: 20,
  });
  if (serviceAccounts.length === 0) throw new InputError('serviceAccounts', 'Flux service accounts', 'is empty', 'list at least source-controller');
  const gitRepositoryName = readString(p, { name: 'gitRepositoryName', label: 'GitRepository name', default: 'flux-system', pattern: DNS_SUBDOMAIN, patternHint: 'a Kubernetes object name (lower-case letters, digits, \'-\' and \'.\')' });
  const kustomizationName = readString(p, { name: 'kustomizationName', label: 'Kustomization name', default: 'flux-system', pattern: DNS_SUBDOMAIN, patternHint: 'a Kubernetes object name (lower-case letters, digits, \'-\' and \'.\')' });
  const devopsConnection = readConnection(p, { name: 'devopsConnection', label: 'Azure DevOps connection' });
  const organizationUrl = readUrl(p, { name: 'organizationUrl', label: 'Organization URL', defaultFromVariable: PipelineVariables.collectionUri, required: true, example: 'https://dev.azure.com/contoso' });
  const project = readString(p, { name: 'project', label: 'Project', defaultFromVariable: PipelineVariables.teamProject, required: true, maxLength: 64 });
  const repository = readString(p, { name: 'repository', label: 'Repository', defaultFromVariable: PipelineVariables.repositoryName, required: true, maxLength: 256 });
  const teamName = readString(p, {
    name: 'teamName', label: 'Team', default: DEFAULT_TEAM, pattern: TEAM,
    patternHint: 'a team name of at most 64 characters, without \\ / : * ? " < > | ; # $ { } , + = [ ] and no leading or trailing blank',
  });
  const checks = readList(p, { name: 'checks', label: 'Checks', default: CHECK_GROUPS });
  const unknown = checks.filter((c) => !(CHECK_GROUPS as readonly string[]).includes(c.toLowerCase()));
  if (unknown.length > 0) throw new InputError('checks', 'Checks', `unknown check group ${unknown.map((u) => `'${u}'`).join(', ')}`, `use any of ${CHECK_GROUPS.join(', ')} (comma-separated)`);
  if (checks.length === 0) throw new InputError('checks', 'Checks', 'selects no check group', `use any of ${CHECK_GROUPS.join(', ')}`);
  const reconcile = readBool(p, { name: 'reconcile', label: 'Reconcile and wait', default: true });
  const timeoutSeconds = readInt(p, { name: 'timeoutSeconds', label: 'Timeout (seconds)', default: 300, min: 30, max: 3600, unit: 'seconds' });
  const failOn = readEnum(p, { name: 'failOn', label: 'Fail on', values: ['error', 'warning'] as const, default: 'error' });
  const retireStaticCredentials = readBool(p, { name: 'retireStaticCredentials', label: 'Retire static Git credentials', default: false });
  return {
    target: {
      subscriptionId: '', resourceGroup, clusterName, identityResourceGroup, fluxNamespace, serviceAccounts, gitRepositoryName, kustomizationName,
      organizationUrl, project, repository, teamName,
      ...(identityName ? { identityName } : {}), ...(clientId ? { clientId } : {}),
    },
    azureSubscription, devopsConnectionInput: devopsConnection ? 'devopsConnection' : 'azureSubscription',
    kubernetesServiceConnection, clusterCredentials,
    groups: new Set(checks.map((c) => c.toLowerCase() as SelectableGroup)),
    reconcile, timeoutSeconds, failOn, retireStaticCredentials,
  };
}
