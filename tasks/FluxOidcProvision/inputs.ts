/**
 * FluxOidcProvision's inputs, read and validated before any network call: a bad value fails the
 * run with an error naming the input and the fix.
 */
import { desiredCredentials } from '../common/azure/federated';
import { parsePermissions } from '../common/devops/security';
import { InputError, readBool, readEnum, readInt, readList, readString } from '../common/pipeline/inputs';
import {
  readAzureSubscription,
  readDevOpsRepository,
  readFluxAccounts,
  readTeamName,
} from '../common/pipeline/inputs-groups';
import { NAME_RULES } from '../common/pipeline/names';
import type { Platform } from '../common/pipeline/platform';

export { DEFAULT_SERVICE_ACCOUNTS, DEFAULT_TEAM } from '../common/pipeline/inputs-groups';
export const DEFAULT_CREDENTIAL_PATTERN = 'flux-{serviceAccount}-{clusterName}';
export const LICENCES = ['express', 'advanced', 'stakeholder'] as const;
export const IDENTITY_SCOPES = ['cluster', 'shared'] as const;

export interface ProvisionInputs {
  azureSubscription: string;
  resourceGroup: string;
  clusterName: string;
  enableClusterFeatures: boolean;
  clusterUpdateTimeoutMinutes: number;
  /** `cluster`: an identity per cluster; `shared`: one identity for several clusters (an environment). */
  identityScope: (typeof IDENTITY_SCOPES)[number];
  identityName: string;
  identityResourceGroup: string;
  /** Undefined: the cluster's location. */
  identityLocation: string | undefined;
  fluxNamespace: string;
  serviceAccounts: string[];
  federatedCredentialName: string;
  configureDevOps: boolean;
  /** The input whose connection is used for Azure DevOps (devopsConnection, or azureSubscription). */
  devopsConnectionInput: string;
  organizationUrl: string | undefined;
  project: string | undefined;
  repository: string | undefined;
  teamName: string;
  permissions: string[];
  permissionBits: number;
  licenseType: 'express' | 'advanced';
}

type ClusterInputs = Pick<
  ProvisionInputs,
  'azureSubscription' | 'resourceGroup' | 'clusterName' | 'enableClusterFeatures' | 'clusterUpdateTimeoutMinutes'
>;
type IdentityInputs = Pick<
  ProvisionInputs,
  'identityScope' | 'identityName' | 'identityResourceGroup' | 'identityLocation'
>;
type FluxInputs = Pick<ProvisionInputs, 'fluxNamespace' | 'serviceAccounts' | 'federatedCredentialName'>;
type DevOpsInputs = Pick<
  ProvisionInputs,
  | 'configureDevOps'
  | 'devopsConnectionInput'
  | 'organizationUrl'
  | 'project'
  | 'repository'
  | 'teamName'
  | 'permissions'
  | 'permissionBits'
  | 'licenseType'
>;

/** The connection and the cluster it provisions. */
function readClusterInputs(p: Platform): ClusterInputs {
  const azureSubscription = readAzureSubscription(p);
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
  const enableClusterFeatures = readBool(p, {
    name: 'enableClusterFeatures',
    label: 'Enable OIDC issuer and workload identity',
    default: true,
  });
  const clusterUpdateTimeoutMinutes = readInt(p, {
    name: 'clusterUpdateTimeoutMinutes',
    label: 'Cluster update timeout',
    default: 30,
    min: 1,
    max: 180,
    unit: 'minutes',
  });
  return { azureSubscription, resourceGroup, clusterName, enableClusterFeatures, clusterUpdateTimeoutMinutes };
}

/** The managed identity: one per cluster (named after it by default) or one an environment shares. */
function readIdentityInputs(p: Platform, cluster: ClusterInputs): IdentityInputs {
  const identityScope = readEnum(p, {
    name: 'identityScope',
    label: 'Identity scope',
    values: IDENTITY_SCOPES,
    default: 'cluster',
  });
  const identityName = readString(p, {
    name: 'identityName',
    label: 'Managed identity name',
    ...NAME_RULES.managedIdentity,
    ...(identityScope === 'cluster' ? { default: `flux-${cluster.clusterName}` } : {}),
  });
  if (!identityName) {
    throw new InputError(
      'identityName',
      'Managed identity name',
      'is empty, and identityScope is shared: the clusters of an environment must name the one identity they share',
      'set identityName to the environment identity, e.g. flux-dev (and identityResourceGroup to where it lives), or use identityScope: cluster',
    );
  }
  const identityResourceGroup = readString(p, {
    name: 'identityResourceGroup',
    label: 'Managed identity resource group',
    default: cluster.resourceGroup,
    ...NAME_RULES.resourceGroup,
  });
  const identityLocation = readString(p, {
    name: 'identityLocation',
    label: 'Managed identity location',
    ...NAME_RULES.azureLocation,
  });
  return { identityScope, identityName, identityResourceGroup, identityLocation };
}

/** Flux's namespace and service accounts, and the names of their federated credentials. */
function readFluxInputs(p: Platform, clusterName: string, identity: IdentityInputs): FluxInputs {
  const { fluxNamespace, serviceAccounts } = readFluxAccounts(p);
  const federatedCredentialName = readString(p, {
    name: 'federatedCredentialName',
    label: 'Federated credential name pattern',
    default: DEFAULT_CREDENTIAL_PATTERN,
    maxLength: 200,
  });
  checkCredentialPattern({ fluxNamespace, serviceAccounts, federatedCredentialName }, clusterName, identity);
  return { fluxNamespace, serviceAccounts, federatedCredentialName };
}

/** Expanding the pattern now catches unknown placeholders, invalid or colliding names before any call. */
function checkCredentialPattern(flux: FluxInputs, clusterName: string, identity: IdentityInputs): void {
  const expanded = desiredCredentials({
    pattern: flux.federatedCredentialName,
    serviceAccounts: flux.serviceAccounts,
    clusterName,
    namespace: flux.fluxNamespace,
    issuer: undefined,
  });
  // On a shared identity every cluster adds its own credentials: their names must differ per cluster.
  if (identity.identityScope === 'shared' && !flux.federatedCredentialName.includes('{clusterName}')) {
    throw new InputError(
      'federatedCredentialName',
      'Federated credential name pattern',
      `'${flux.federatedCredentialName}' has no {clusterName}, so the clusters sharing the identity '${identity.identityName}' would overwrite each other's credentials`,
      `include {clusterName}, e.g. ${DEFAULT_CREDENTIAL_PATTERN}`,
    );
  }
  if ('error' in expanded) {
    throw new InputError(
      'federatedCredentialName',
      'Federated credential name pattern',
      expanded.error,
      `use a pattern such as ${DEFAULT_CREDENTIAL_PATTERN} (placeholders {serviceAccount}, {clusterName}, {namespace})`,
    );
  }
}

/** The Azure DevOps side: the repository Flux reads, the team, the permissions and the access level. */
function readDevOpsInputs(p: Platform): DevOpsInputs {
  const configureDevOps = readBool(p, {
    name: 'configureDevOps',
    label: 'Configure Azure DevOps access',
    default: true,
  });
  const repo = configureDevOps ? readDevOpsRepository(p) : undefined;
  const teamName = readTeamName(p);
  const permissions = readList(p, {
    name: 'permissions',
    label: 'Repository permissions',
    default: ['read', 'contribute'],
  });
  const parsed = parsePermissions(permissions);
  if ('error' in parsed) {
    throw new InputError(
      'permissions',
      'Repository permissions',
      parsed.error,
      'use read,contribute (image automation pushes) or read (source-controller only)',
    );
  }
  const licence = readEnum(p, { name: 'licenseType', label: 'Access level', values: LICENCES, default: 'express' });
  if (licence === 'stakeholder') {
    throw new InputError(
      'licenseType',
      'Access level',
      'Stakeholder access cannot read Git repositories, so Flux would get "TF401019: The Git repository … does not exist or you do not have permissions"',
      'use express (Basic), the default, or advanced (Basic + Test Plans)',
    );
  }
  return {
    configureDevOps,
    devopsConnectionInput: repo?.devopsConnectionInput ?? 'azureSubscription',
    organizationUrl: repo?.organizationUrl,
    project: repo?.project,
    repository: repo?.repository,
    teamName,
    permissions,
    permissionBits: parsed.bits,
    licenseType: licence,
  };
}

export function readProvisionInputs(p: Platform): ProvisionInputs {
  const cluster = readClusterInputs(p);
  const identity = readIdentityInputs(p, cluster);
  const flux = readFluxInputs(p, cluster.clusterName, identity);
  return { ...cluster, ...identity, ...flux, ...readDevOpsInputs(p) };
}
