/**
 * The api-versions ARM accepts, per resource type, as the REST specs publish them, and ARM's answer
 * to any other version.
 *
 * Sources (every version listed is a folder of Azure/azure-rest-api-specs or a version of its
 * TypeSpec `Versions` enum):
 * - Microsoft.ContainerService/managedClusters: specification/containerservice/resource-manager/
 *   Microsoft.ContainerService/aks/{stable,preview}/<version>/managedClusters.json (readme.md tags to
 *   2024-01; stable folders 2024-02-01 ... 2025-09-01 checked one by one; 2025-10-01 ... 2026-04-01 from
 *   the `KnownVersions` of @azure/arm-containerservice, generated from the spec; 2026-05-01 ...
 *   2026-10-01 from shared/reference/notes/api-contracts.md B).
 * - Microsoft.ManagedIdentity: specification/msi/resource-manager/Microsoft.ManagedIdentity/{stable,preview}
 *   (federated identity credentials exist from 2022-01-31-preview on; api-contracts.md A).
 * - Microsoft.Resources (subscriptions, tenants, resource groups, providers): specification/resources/
 *   resource-manager/Microsoft.Resources/stable/<version> (the versions of the resources and
 *   subscriptions packages; ARM serves these types itself and accepts the union).
 * - Microsoft.Authorization (role assignments/definitions): specification/authorization/resource-manager.
 *
 * The answer (learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider;
 * learn.microsoft.com/azure/azure-resource-manager/management/resource-providers-and-types
 * "View valid API versions for a resource type"): a resource provider's type answers 400
 * `NoRegisteredProviderFound` "No registered resource provider found for location '{location}' and
 * API version '{version}' for type '{type}'. The supported api-versions are '...'. The supported
 * locations are '...'."; a type ARM serves itself (Microsoft.Resources) answers 400
 * `InvalidApiVersionParameter` "The api-version '{version}' is invalid. The supported versions are '...'".
 */
import { ArmError } from './common';

const AKS_STABLE = [
  '2017-08-31',
  '2018-03-31',
  '2019-02-01',
  '2019-04-01',
  '2019-06-01',
  '2019-08-01',
  '2019-10-01',
  '2019-11-01',
  '2020-01-01',
  '2020-02-01',
  '2020-03-01',
  '2020-04-01',
  '2020-06-01',
  '2020-07-01',
  '2020-09-01',
  '2020-11-01',
  '2020-12-01',
  '2021-02-01',
  '2021-03-01',
  '2021-05-01',
  '2021-07-01',
  '2021-08-01',
  '2021-09-01',
  '2021-10-01',
  '2022-01-01',
  '2022-02-01',
  '2022-03-01',
  '2022-04-01',
  '2022-06-01',
  '2022-07-01',
  '2022-09-01',
  '2022-11-01',
  '2023-01-01',
  '2023-02-01',
  '2023-03-01',
  '2023-04-01',
  '2023-05-01',
  '2023-06-01',
  '2023-07-01',
  '2023-08-01',
  '2023-09-01',
  '2023-10-01',
  '2023-11-01',
  '2024-01-01',
  '2024-02-01',
  '2024-05-01',
  '2024-07-01',
  '2024-08-01',
  '2024-09-01',
  '2024-10-01',
  '2025-01-01',
  '2025-02-01',
  '2025-03-01',
  '2025-04-01',
  '2025-05-01',
  '2025-06-01',
  '2025-07-01',
  '2025-08-01',
  '2025-09-01',
  '2025-10-01',
  '2026-01-01',
  '2026-02-01',
  '2026-03-01',
  '2026-04-01',
  '2026-05-01',
  '2026-06-01',
  '2026-07-01',
  '2026-08-01',
  '2026-10-01',
];

const AKS_PREVIEW = [
  '2018-08-01-preview',
  '2019-09-30-preview',
  '2019-10-27-preview',
  '2021-11-01-preview',
  '2022-01-02-preview',
  '2022-02-02-preview',
  '2022-03-02-preview',
  '2022-04-02-preview',
  '2022-05-02-preview',
  '2022-06-02-preview',
  '2022-07-02-preview',
  '2022-08-02-preview',
  '2022-08-03-preview',
  '2022-09-02-preview',
  '2022-10-02-preview',
  '2022-11-02-preview',
  '2023-01-02-preview',
  '2023-02-02-preview',
  '2023-03-02-preview',
  '2023-04-02-preview',
  '2023-05-02-preview',
  '2023-06-02-preview',
  '2023-07-02-preview',
  '2023-08-02-preview',
  '2023-09-02-preview',
  '2023-10-02-preview',
  '2023-11-02-preview',
];

const FIC_VERSIONS = [
  '2022-01-31-preview',
  '2023-01-31',
  '2024-11-30',
  '2025-01-31-preview',
  '2025-05-31-preview',
  '2026-04-30',
  '2026-05-31',
];
const MSI_VERSIONS = ['2015-08-31-preview', '2018-11-30', '2021-09-30-preview', ...FIC_VERSIONS];

const RESOURCES_VERSIONS = [
  '2014-04-01-preview',
  '2015-01-01',
  '2015-11-01',
  '2016-02-01',
  '2016-06-01',
  '2016-07-01',
  '2016-09-01',
  '2017-05-10',
  '2017-06-01',
  '2018-02-01',
  '2018-05-01',
  '2018-06-01',
  '2019-03-01',
  '2019-05-01',
  '2019-05-10',
  '2019-06-01',
  '2019-07-01',
  '2019-08-01',
  '2019-10-01',
  '2019-11-01',
  '2020-01-01',
  '2020-06-01',
  '2020-10-01',
  '2021-01-01',
  '2021-04-01',
  '2022-01-01',
  '2022-09-01',
  '2022-12-01',
  '2023-07-01',
  '2024-03-01',
  '2024-07-01',
  '2024-11-01',
];

const AUTHORIZATION_VERSIONS = [
  '2015-07-01',
  '2017-10-01-preview',
  '2018-01-01-preview',
  '2018-09-01-preview',
  '2020-03-01-preview',
  '2020-04-01-preview',
  '2020-08-01-preview',
  '2020-10-01-preview',
  '2021-04-01-preview',
  '2022-01-01-preview',
  '2022-04-01',
  '2022-05-01-preview',
];

/** Resource type (lower-case, with namespace) -> the versions it accepts. */
export const API_VERSIONS: Record<string, readonly string[]> = {
  'microsoft.containerservice/managedclusters': [...AKS_STABLE, ...AKS_PREVIEW],
  'microsoft.containerservice/locations/operations': [...AKS_STABLE, ...AKS_PREVIEW],
  'microsoft.managedidentity/userassignedidentities': MSI_VERSIONS,
  'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials': FIC_VERSIONS,
  'microsoft.resources/subscriptions': RESOURCES_VERSIONS,
  'microsoft.resources/tenants': RESOURCES_VERSIONS,
  'microsoft.resources/resourcegroups': RESOURCES_VERSIONS,
  'microsoft.resources/providers': RESOURCES_VERSIONS,
  'microsoft.resources/subscriptions/locations': RESOURCES_VERSIONS,
  'microsoft.authorization/roleassignments': AUTHORIZATION_VERSIONS,
  'microsoft.authorization/roledefinitions': AUTHORIZATION_VERSIONS,
};

/** The display names ARM uses in its messages and in `GET providers` (the lower-case keys above, cased). */
export const TYPE_NAMES: Record<string, string> = {
  'microsoft.containerservice/managedclusters': 'Microsoft.ContainerService/managedClusters',
  'microsoft.containerservice/locations/operations': 'Microsoft.ContainerService/locations/operations',
  'microsoft.managedidentity/userassignedidentities': 'Microsoft.ManagedIdentity/userAssignedIdentities',
  'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials':
    'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
  'microsoft.resources/subscriptions': 'Microsoft.Resources/subscriptions',
  'microsoft.resources/tenants': 'Microsoft.Resources/tenants',
  'microsoft.resources/resourcegroups': 'Microsoft.Resources/resourceGroups',
  'microsoft.resources/providers': 'Microsoft.Resources/providers',
  'microsoft.resources/subscriptions/locations': 'Microsoft.Resources/subscriptions/locations',
  'microsoft.authorization/roleassignments': 'Microsoft.Authorization/roleAssignments',
  'microsoft.authorization/roledefinitions': 'Microsoft.Authorization/roleDefinitions',
};

/** Newest first, as ARM lists them. */
function newestFirst(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * The resource type a request path addresses (lower-case), e.g.
 * `/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i/federatedIdentityCredentials/f`
 * -> `microsoft.managedidentity/userassignedidentities/federatedidentitycredentials`. An action
 * segment after a resource name (`.../managedClusters/c/listClusterUserCredential`) belongs to the
 * resource's type. Undefined for a path that names no type ARM knows here.
 */
export function resourceTypeOf(path: string): string | undefined {
  const s = path
    .split('/')
    .filter(Boolean)
    .map((x) => decodeURIComponent(x).toLowerCase());
  const p = s.lastIndexOf('providers');
  if (p >= 0 && s.length > p + 2) {
    const rest = s.slice(p + 2);
    const typesOf = (parts: string[]) => parts.filter((_, i) => i % 2 === 0).join('/');
    const full = `${s[p + 1]}/${typesOf(rest)}`;
    if (API_VERSIONS[full]) return full;
    if (rest.length >= 3 && rest.length % 2 === 1) {
      const owner = `${s[p + 1]}/${typesOf(rest.slice(0, -1))}`;
      if (API_VERSIONS[owner]) return owner;
    }
    return full;
  }
  if (p >= 0) return 'microsoft.resources/providers';
  if (s[0] === 'tenants') return 'microsoft.resources/tenants';
  if (s[0] !== 'subscriptions') return undefined;
  if (s.length <= 2) return 'microsoft.resources/subscriptions';
  if (s[2] === 'resourcegroups') return 'microsoft.resources/resourcegroups';
  if (s[2] === 'locations') return 'microsoft.resources/subscriptions/locations';
  return undefined;
}

const DATE_SHAPED = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/**
 * Throws ARM's 400 unless `apiVersion` is one the type publishes (case-insensitive, as ARM compares).
 * A type missing from the table only needs a well-formed version.
 */
export function checkApiVersion(type: string | undefined, apiVersion: string, location: () => string): void {
  const versions = type ? API_VERSIONS[type] : undefined;
  if (!versions) {
    if (DATE_SHAPED.test(apiVersion)) return;
    throw new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. The supported versions have the form 'YYYY-MM-DD' or 'YYYY-MM-DD-preview'.`,
    );
  }
  if (versions.includes(apiVersion.toLowerCase())) return;
  const list = newestFirst(versions);
  if (type!.startsWith('microsoft.resources/')) {
    throw new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. The supported versions are '${list.join(',')}'. The supported locations are ''.`,
    );
  }
  const name = TYPE_NAMES[type!] ?? type!;
  throw new ArmError(
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for location '${location()}' and API version '${apiVersion}' for type '${name.split('/').slice(1).join('/')}'. The supported api-versions are '${list.join(', ')}'. The supported locations are '${SUPPORTED_LOCATIONS.join(', ')}'.`,
  );
}

/** The regions the emulated providers offer (a subset of Azure's public regions). */
export const SUPPORTED_LOCATIONS = [
  'eastus',
  'eastus2',
  'westus2',
  'westus3',
  'centralus',
  'northeurope',
  'westeurope',
  'uksouth',
  'swedencentral',
  'germanywestcentral',
  'francecentral',
  'australiaeast',
  'japaneast',
  'southeastasia',
];
