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
} from '../common/pipeline/inputs';
import {
  readAzureSubscription,
  readDevOpsRepository,
  readFluxAccounts,
  readTeamName,
} from '../common/pipeline/inputs-groups';
import { NAME_RULES } from '../common/pipeline/names';
import type { Platform } from '../common/pipeline/platform';
import type { VerifyTarget } from '../common/verify/model';
import type { ClusterRef } from '../common/verify/fleet';
import type { FleetInputs } from '../common/verify/run-fleet';
import { CHECK_GROUPS, type SelectableGroup } from '../common/verify/verify';

export { DEFAULT_SERVICE_ACCOUNTS, DEFAULT_TEAM } from '../common/pipeline/inputs-groups';

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

/** The cluster (or fleet) to verify; in a fleet each cluster brings its own names. */
function readClusterInputs(p: Platform) {
  const azureSubscription = readAzureSubscription(p);
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
  return { azureSubscription, resourceGroup, clusterName, fleetSpec };
}

/** The managed identity: by client id, or by name (default what FluxOidcProvision creates). */
function readIdentityInputs(p: Platform, resourceGroup: string, clusterName: string) {
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
  return { clientId, identityName, identityNameInput, identityResourceGroup, identityResourceGroupInput };
}

/** How the task reaches the cluster's API server. */
function readClusterAccess(p: Platform): Pick<VerifyInputs, 'kubernetesServiceConnection' | 'clusterCredentials'> {
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
  return { kubernetesServiceConnection, clusterCredentials };
}

/** Flux's namespace, service accounts and the GitRepository and Kustomization it syncs with. */
function readFluxInputs(p: Platform) {
  const { fluxNamespace, serviceAccounts } = readFluxAccounts(p);
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
  return { fluxNamespace, serviceAccounts, gitRepositoryName, kustomizationName };
}

type RunOptions = Pick<VerifyInputs, 'groups' | 'reconcile' | 'timeoutSeconds' | 'failOn' | 'retireStaticCredentials'>;

/** Which checks run, whether to reconcile, how long to wait, what fails the step, and the retire switch. */
function readRunOptions(p: Platform): RunOptions {
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
  const groups = new Set(checks.map((c) => c.toLowerCase() as SelectableGroup));
  return { groups, reconcile, timeoutSeconds, failOn, retireStaticCredentials };
}

/** The branch FluxManifestPatch commits to by default; a pull request or tag build is no branch. */
function pipelineBranchOf(p: Platform): string | undefined {
  const sourceBranch = p.variable(PipelineVariables.sourceBranch);
  return sourceBranch && !/^refs\/(pull|tags)\//.test(sourceBranch) ? sourceBranch : undefined;
}

export function readVerifyInputs(p: Platform): VerifyInputs {
  const { azureSubscription, resourceGroup, clusterName, fleetSpec } = readClusterInputs(p);
  const identity = readIdentityInputs(p, resourceGroup, clusterName);
  const access = readClusterAccess(p);
  const flux = readFluxInputs(p);
  const { devopsConnectionInput, ...repository } = readDevOpsRepository(p);
  const teamName = readTeamName(p);
  const options = readRunOptions(p);
  const { clientId, identityName, identityNameInput, identityResourceGroupInput } = identity;
  const pipelineBranch = pipelineBranchOf(p);
  return {
    target: {
      subscriptionId: '',
      resourceGroup,
      clusterName,
      identityResourceGroup: identity.identityResourceGroup,
      ...flux,
      ...repository,
      teamName,
      ...(identityName ? { identityName } : {}),
      ...(clientId ? { clientId } : {}),
      ...(pipelineBranch ? { pipelineBranch } : {}),
    },
    azureSubscription,
    devopsConnectionInput,
    ...access,
    ...options,
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
