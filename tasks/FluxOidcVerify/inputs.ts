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
import type { ClusterRef } from '../common/verify/fleet';
import type { FleetInputs } from '../common/verify/run-fleet';
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
  /** Set when the step verifies several clusters (clusters or clusterPattern). */
  fleet?: FleetInputs;
}

const CLUSTER_NAME = NAME_RULES.aksCluster.pattern;
const RG_NAME = NAME_RULES.resourceGroup.pattern;

/** `clusters`: one `name` or `resourceGroup/name` per line (or comma-separated). */
function readClusterList(p: Platform, resourceGroup: string | undefined): ClusterRef[] | undefined {
  const items = readList(p, { name: 'clusters', label: 'Clusters' });
  if (items.length === 0) return undefined;
  return items.map((item) => {
    const parts = item.split('/');
    const [rg, name] = parts.length === 2 ? parts : [resourceGroup, parts[0]];
    if (parts.length > 2 || !name || !CLUSTER_NAME.test(name) || (rg !== undefined && !RG_NAME.test(rg)))
      throw new InputError(
        'clusters',
        'Clusters',
        `'${item}' is not a cluster`,
        'list one cluster per line as <name> (in resourceGroup) or <resourceGroup>/<name>, e.g. rg-fleet-dev/aks-dev-weu',
      );
    if (!rg)
      throw new InputError(
        'clusters',
        'Clusters',
        `'${item}' names no resource group and the resourceGroup input is empty`,
        `write it as <resourceGroup>/${name}, or set resourceGroup`,
      );
    return { resourceGroup: rg, name };
  });
}

/** The fleet inputs (clusters, clusterPattern, resourceGroups, maxParallel); undefined for one cluster. */
function readFleet(p: Platform, resourceGroup: string | undefined, clusterName: string | undefined) {
  const clusters = readClusterList(p, resourceGroup);
  const pattern = readString(p, {
    name: 'clusterPattern',
    label: 'Cluster name pattern',
    pattern: /^[-_a-zA-Z0-9*?]{1,63}$/,
    patternHint: 'a cluster name with * and ? wildcards, e.g. aks-staging-* or *',
  });
  const given = [clusterName && 'clusterName', clusters && 'clusters', pattern && 'clusterPattern'].filter(Boolean);
  if (given.length > 1)
    throw new InputError(
      String(given[1]),
      String(given[1]),
      `is set together with ${given[0]}`,
      'give one of clusterName (one cluster), clusters (a list) or clusterPattern (every match in resourceGroups)',
    );
  if (given.length === 0)
    throw new InputError(
      'clusterName',
      'AKS cluster name',
      'is required (or clusters, or clusterPattern)',
      'set clusterName to one cluster, clusters to a list, or clusterPattern to verify every match in resourceGroups',
    );
  if (!clusters && !pattern) return undefined;
  const resourceGroups = readList(p, {
    name: 'resourceGroups',
    label: 'Resource groups',
    ...(resourceGroup ? { default: [resourceGroup] } : {}),
  });
  for (const rg of resourceGroups)
    if (!RG_NAME.test(rg))
      throw new InputError(
        'resourceGroups',
        'Resource groups',
        `'${rg}' is not a resource group name`,
        'use names such as rg-fleet-dev',
      );
  if (pattern && resourceGroups.length === 0)
    throw new InputError(
      'resourceGroups',
      'Resource groups',
      'is empty, and clusterPattern needs resource groups to look in',
      'list the resource groups, e.g. rg-fleet-dev, rg-fleet-staging (or set resourceGroup)',
    );
  const maxParallel = readInt(p, {
    name: 'maxParallel',
    label: 'Clusters at a time',
    default: 10,
    min: 1,
    max: 50,
    unit: 'clusters',
  });
  return {
    spec: { ...(clusters ? { clusters } : {}), ...(pattern ? { pattern } : {}), resourceGroups },
    maxParallel,
  };
}

export function readVerifyInputs(p: Platform): VerifyInputs {
  const azureSubscription = readConnection(p, {
    name: 'azureSubscription',
    label: 'Azure Resource Manager connection',
    required: true,
  });
  const resourceGroupInput = readString(p, {
    name: 'resourceGroup',
    label: 'Resource group',
    ...NAME_RULES.resourceGroup,
  });
  const clusterNameInput = readString(p, {
    name: 'clusterName',
    label: 'AKS cluster name',
    ...NAME_RULES.aksCluster,
  });
  const fleetSpec = readFleet(p, resourceGroupInput, clusterNameInput);
  if (!fleetSpec && !resourceGroupInput)
    throw new InputError(
      'resourceGroup',
      'Resource group',
      'is required',
      "set resourceGroup to the AKS cluster's resource group",
    );
  // In a fleet each cluster brings its own; these stand in for the names below.
  const resourceGroup = resourceGroupInput ?? fleetSpec?.spec.resourceGroups[0] ?? '';
  const clusterName = clusterNameInput ?? '';
  const clientId = readGuid(p, {
    name: 'clientId',
    label: 'Managed identity client id',
    what: "the identity's client id (FluxOidcProvision output clientId)",
  });
  // Without a clientId the identity is found by name, defaulting to what FluxOidcProvision creates.
  const identityNameInput = readString(p, {
    name: 'identityName',
    label: 'Managed identity name',
    ...NAME_RULES.managedIdentity,
  });
  const identityName = identityNameInput ?? (clientId ? undefined : `flux-${clusterName}`);
  const identityResourceGroupInput = readString(p, {
    name: 'identityResourceGroup',
    label: 'Managed identity resource group',
    ...NAME_RULES.resourceGroup,
  });
  const identityResourceGroup = identityResourceGroupInput ?? resourceGroup;
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
    ...(fleetSpec
      ? {
          fleet: {
            ...fleetSpec,
            ...(identityNameInput ? { identityName: identityNameInput } : {}),
            ...(identityResourceGroupInput ? { identityResourceGroup: identityResourceGroupInput } : {}),
          },
        }
      : {}),
  };
}
