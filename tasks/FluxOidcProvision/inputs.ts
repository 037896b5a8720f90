/**
 * FluxOidcProvision's inputs, read and validated before any network call: a bad value fails the
 * run with an error naming the input and the fix.
 */
import { desiredCredentials } from '../common/azure/federated';
import { parsePermissions } from '../common/devops/security';
import {
  InputError,
  PipelineVariables,
  readBool,
  readConnection,
  readEnum,
  readInt,
  readList,
  readString,
  readUrl,
} from '../common/pipeline/inputs';
import { NAME_RULES, SERVICE_ACCOUNT_ITEMS } from '../common/pipeline/names';
import type { Platform } from '../common/pipeline/platform';

export const DEFAULT_SERVICE_ACCOUNTS = ['source-controller', 'image-automation-controller'] as const;
export const DEFAULT_CREDENTIAL_PATTERN = 'flux-{serviceAccount}-{clusterName}';
export const DEFAULT_TEAM = 'AKS Managed Identities Team';
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

export function readProvisionInputs(p: Platform): ProvisionInputs {
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
    ...(identityScope === 'cluster' ? { default: `flux-${clusterName}` } : {}),
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
    default: resourceGroup,
    ...NAME_RULES.resourceGroup,
  });
  const identityLocation = readString(p, {
    name: 'identityLocation',
    label: 'Managed identity location',
    ...NAME_RULES.azureLocation,
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
    maxItems: 20,
    ...SERVICE_ACCOUNT_ITEMS,
  });
  const federatedCredentialName = readString(p, {
    name: 'federatedCredentialName',
    label: 'Federated credential name pattern',
    default: DEFAULT_CREDENTIAL_PATTERN,
    maxLength: 200,
  });
  // Expanding the pattern now catches unknown placeholders, invalid or colliding names before any call.
  const expanded = desiredCredentials({
    pattern: federatedCredentialName,
    serviceAccounts,
    clusterName,
    namespace: fluxNamespace,
    issuer: undefined,
  });
  // On a shared identity every cluster adds its own credentials: their names must differ per cluster.
  if (identityScope === 'shared' && !federatedCredentialName.includes('{clusterName}')) {
    throw new InputError(
      'federatedCredentialName',
      'Federated credential name pattern',
      `'${federatedCredentialName}' has no {clusterName}, so the clusters sharing the identity '${identityName}' would overwrite each other's credentials`,
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

  const configureDevOps = readBool(p, {
    name: 'configureDevOps',
    label: 'Configure Azure DevOps access',
    default: true,
  });
  const devopsConnection = configureDevOps
    ? readConnection(p, { name: 'devopsConnection', label: 'Azure DevOps connection' })
    : undefined;
  const organizationUrl = configureDevOps
    ? readUrl(p, {
        name: 'organizationUrl',
        label: 'Organization URL',
        defaultFromVariable: PipelineVariables.collectionUri,
        required: true,
        example: 'https://dev.azure.com/contoso',
      })
    : undefined;
  const project = configureDevOps
    ? readString(p, {
        name: 'project',
        label: 'Project',
        defaultFromVariable: PipelineVariables.teamProject,
        required: true,
        maxLength: 64,
      })
    : undefined;
  const repository = configureDevOps
    ? readString(p, {
        name: 'repository',
        label: 'Repository',
        defaultFromVariable: PipelineVariables.repositoryName,
        required: true,
        maxLength: 256,
      })
    : undefined;
  const teamName = readString(p, { name: 'teamName', label: 'Team', default: DEFAULT_TEAM, ...NAME_RULES.team });
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
    azureSubscription,
    resourceGroup,
    clusterName,
    enableClusterFeatures,
    clusterUpdateTimeoutMinutes,
    identityScope,
    identityName,
    identityResourceGroup,
    identityLocation,
    fluxNamespace,
    serviceAccounts,
    federatedCredentialName,
    configureDevOps,
    devopsConnectionInput: devopsConnection ? 'devopsConnection' : 'azureSubscription',
    organizationUrl,
    project,
    repository,
    teamName,
    permissions,
    permissionBits: parsed.bits,
    licenseType: licence,
  };
}
