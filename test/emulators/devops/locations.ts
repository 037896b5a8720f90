/**
 * The location service: `_apis/ResourceAreas` (which host serves which area; Graph and IMS live on
 * vssps, member entitlements on vsaex, everything else on the organization host) and the
 * `OPTIONS _apis/{area}` route tables azure-devops-node-api expands its URLs from.
 *
 * Location ids: the ones azure-devops-node-api 17 and the published clients use; the ids of the
 * Graph service principal and entitlement resources have no client to take them from and are
 * emulator-chosen (nothing resolves them by id).
 */
import type { OrgUrls } from './views';

export interface ResourceLocation {
  id: string;
  area: string;
  resourceName: string;
  routeTemplate: string;
  resourceVersion: number;
  minVersion: string;
  maxVersion: string;
  releasedVersion: string;
}

function loc(
  id: string,
  area: string,
  resourceName: string,
  routeTemplate: string,
  resourceVersion: number,
  releasedVersion = '7.1',
): ResourceLocation {
  return {
    id,
    area,
    resourceName,
    routeTemplate,
    resourceVersion,
    minVersion: '1.0',
    maxVersion: '7.2',
    releasedVersion,
  };
}

const LOCATION_AREA = [
  loc('00d9565f-ed9c-4a06-9a50-00e7896ccab4', 'Location', 'ConnectionData', '_apis/{resource}', 1),
  loc('e81700f7-3be2-46de-8624-2eb35882fcaa', 'Location', 'ResourceAreas', '_apis/{resource}/{areaId}', 1),
];

/** Areas served by the organization host (dev.azure.com/{org}). */
const DEVOPS_AREAS: Record<string, ResourceLocation[]> = {
  location: LOCATION_AREA,
  core: [
    loc('603fe2ac-9723-48b9-88ad-09305aa6c6e1', 'core', 'projects', '_apis/{resource}/{*projectId}', 4),
    loc('d30a3dd1-f8ba-442a-b86a-bd0c0c383e59', 'core', 'teams', '_apis/projects/{projectId}/{resource}/{*teamId}', 3),
    loc(
      '294c494c-2600-4d7e-b76c-3dd50c3c95be',
      'core',
      'members',
      '_apis/projects/{projectId}/teams/{teamId}/{resource}',
      2,
    ),
    loc('7a4d9ee9-3433-4347-b47a-7a80f1cf307e', 'core', 'teams', '_apis/{resource}', 3, '0.0'),
  ],
  git: [
    loc(
      '225f7195-f9c7-4d14-ab28-a83f7ff77e1f',
      'git',
      'repositories',
      '{project}/_apis/{area}/{resource}/{repositoryId}',
      2,
    ),
    loc(
      '2d874a60-a811-4f62-9c9f-963a6ea0a55b',
      'git',
      'refs',
      '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}',
      2,
    ),
    loc(
      'fb93c0db-47ed-4a31-8c20-47552878fb44',
      'git',
      'items',
      '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}',
      1,
    ),
    loc(
      'c2570c3b-5b3f-41b8-98bf-5407bfde8d58',
      'git',
      'commits',
      '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{commitId}',
      2,
    ),
    loc(
      'ea98d07b-3c87-4971-8ede-a613694ffb55',
      'git',
      'pushes',
      '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pushId}',
      3,
    ),
    loc(
      '9946fd70-0d40-406e-b686-b4744cbbcc37',
      'git',
      'pullRequests',
      '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}',
      2,
    ),
    loc(
      '01a46dea-7d46-4d40-bc84-319e7c260d99',
      'git',
      'pullRequests',
      '{project}/_apis/{area}/{resource}/{pullRequestId}',
      2,
    ),
    loc('a5d28130-9cd2-40fa-9f08-902e7daa9efb', 'git', 'pullRequests', '{project}/_apis/{area}/{resource}', 2),
    loc(
      '52823034-34a8-4576-922c-8d8b77e9e4c4',
      'git',
      'pullRequestCommits',
      '{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/commits',
      1,
    ),
  ],
  policy: [
    // PolicyApi.getPolicyConfigurations / getPolicyConfiguration (azure-devops-node-api 17).
    loc(
      'dad91cbe-d183-45f8-9c6e-9c1164472121',
      'policy',
      'configurations',
      '{project}/_apis/{area}/{resource}/{configurationId}',
      1,
    ),
  ],
  distributedtask: [
    loc(
      '69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2',
      'distributedtask',
      'oidctoken',
      '{scopeIdentifier}/_apis/{area}/hubs/{hubName}/plans/{planId}/jobs/{jobId}/{resource}',
      1,
    ),
  ],
  security: [
    loc(
      'ac08c8ff-4323-4b08-af90-bcd018d380ce',
      'Security',
      'AccessControlEntries',
      '_apis/{resource}/{securityNamespaceId}',
      1,
    ),
    loc(
      '18a2ad18-7571-46ae-bec7-0c7da1495885',
      'Security',
      'AccessControlLists',
      '_apis/{resource}/{securityNamespaceId}',
      1,
    ),
    loc(
      'dd3b8bd6-c7fc-4cbd-929a-933d9c011c9d',
      'Security',
      'Permissions',
      '_apis/{resource}/{securityNamespaceId}/{permissions}',
      2,
    ),
    loc(
      'cf1faa59-1b63-4448-bf04-13d981a46f5d',
      'Security',
      'PermissionEvaluationBatch',
      '_apis/security/{resource}',
      1,
    ),
    loc(
      'ce7b9f95-fde9-4be8-a86d-83b366f0b87a',
      'Security',
      'SecurityNamespaces',
      '_apis/{resource}/{securityNamespaceId}',
      1,
    ),
  ],
};

/** Areas served by vssps (Graph, IMS). */
const VSSPS_AREAS: Record<string, ResourceLocation[]> = {
  location: LOCATION_AREA,
  graph: [
    loc('048aee0a-7072-4cde-ab73-7af77b1e0b4e', 'Graph', 'Descriptors', '_apis/{area}/{resource}/{storageKey}', 1),
    loc(
      'eb85f8cc-f0f6-4264-a5b1-ffe2e4d4801f',
      'Graph',
      'StorageKeys',
      '_apis/{area}/{resource}/{subjectDescriptor}',
      1,
    ),
    loc(
      'ebbe6af8-0b91-4c13-8cf1-777c14858188',
      'Graph',
      'Groups',
      '_apis/{area}/{resource}/{groupDescriptor}',
      1,
      '0.0',
    ),
    loc(
      '3fd2e6ca-fb30-443a-b579-95b19ed0934c',
      'Graph',
      'Memberships',
      '_apis/{area}/{resource}/{subjectDescriptor}/{containerDescriptor}',
      1,
      '0.0',
    ),
    loc(
      '1ffe5c94-1144-4191-907b-d0211cad36a8',
      'Graph',
      'MembershipStates',
      '_apis/{area}/{resource}/{subjectDescriptor}',
      1,
      '0.0',
    ),
    loc('4dd4d168-11f2-48c4-83e8-756fa0de027c', 'Graph', 'SubjectLookup', '_apis/{area}/{resource}', 1, '0.0'),
    loc('005e26ec-6b77-4e4f-a986-b3827bf241f5', 'Graph', 'Users', '_apis/{area}/{resource}/{userDescriptor}', 1, '0.0'),
    loc(
      'e1dbb0f4-6d0c-4b6e-9a44-6f1cf1b2a7c3',
      'Graph',
      'ServicePrincipals',
      '_apis/{area}/{resource}/{servicePrincipalDescriptor}',
      1,
      '0.0',
    ),
  ],
  ims: [loc('28010c54-d0c0-4c89-a5b0-1c9e188b9fb7', 'IMS', 'Identities', '_apis/{resource}/{identityId}', 2)],
};

/** Areas served by vsaex (member entitlements). */
const VSAEX_AREAS: Record<string, ResourceLocation[]> = {
  location: LOCATION_AREA,
  memberentitlementmanagement: [
    loc(
      'f2e2e8b1-4c2d-4b1e-9a55-2b7f1a3c9d01',
      'MemberEntitlementManagement',
      'ServicePrincipalEntitlements',
      '_apis/{resource}/{servicePrincipalId}',
      1,
      '0.0',
    ),
    loc(
      '8480c6eb-ce60-47e9-88df-eca3c801638b',
      'MemberEntitlementManagement',
      'MemberEntitlements',
      '_apis/{resource}',
      1,
      '0.0',
    ),
  ],
};

export type DevOpsHostName = 'devops' | 'vssps' | 'vsaex';

export function areaLocations(host: DevOpsHostName, area: string): ResourceLocation[] | undefined {
  const table = host === 'devops' ? DEVOPS_AREAS : host === 'vssps' ? VSSPS_AREAS : VSAEX_AREAS;
  return table[area.toLowerCase()];
}

export const AREA_IDS = {
  core: '79134c72-4a58-4b42-976c-04e7115f32bf',
  git: '4e080c62-fa21-4fbc-8fef-2a10a2b38049',
  graph: 'bb1e7ec9-e901-4b68-999a-de7012b920f8',
  ims: '8a3d49b8-91f0-46ef-b33d-dda338c25db3',
  memberEntitlementManagement: '68ddce18-2501-45f1-a17b-7931a9922690',
} as const;

/** Areas azure-devops-node-api may ask for; all but Graph/IMS/entitlements live on the organization host. */
const ORG_AREAS: [string, string][] = [
  [AREA_IDS.core, 'core'],
  [AREA_IDS.git, 'git'],
  ['965220d5-5bb9-42cf-8d67-9b146df2a5a4', 'build'],
  ['1814ab31-2f4f-4a9f-8761-f4d77dc5a5d7', 'serviceendpoint'],
  ['a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd', 'distributedtask'],
  ['fb13a388-40dd-4a04-b530-013a739c72ef', 'policy'],
  ['5264459e-e5e0-4bd8-b118-0985e68a4ec5', 'wit'],
  ['1d4f49f9-02b9-4e26-b826-2cdb6195f2a9', 'work'],
  ['bf7d82a0-8aa5-4613-94ef-6172a5ea01f3', 'wiki'],
  ['8aa40520-446d-40e6-89f6-9c9f9ce44c48', 'tfvc'],
  ['c2aa639c-3ccc-4740-b3b6-ce2a1e1d984e', 'Test'],
  ['e4c27205-9d23-4c98-b958-d798bc3f9cd4', 'testplan'],
  ['c83eaf52-edf3-4034-ae11-17d38f25404c', 'testresults'],
  ['31c84e0a-3ece-48fd-a29d-100849af99ba', 'Dashboard'],
  ['7658fa33-b1bf-4580-990f-fac5896773d3', 'projectanalysis'],
  ['0f2ca920-f269-4545-b1f4-5b4173aa784e', 'alert'],
  ['f101720c-9790-45a6-9fb3-494a09fddeeb', 'management'],
  ['efc2f575-36ef-48e9-b672-0c6fb4a48ac5', 'Release'],
  ['6c2b0933-3600-42ae-bf8b-93d4f7e83594', 'ExtensionManagement'],
  ['69d21c00-f135-441b-b5ce-3626378e0819', 'gallery'],
  ['8ccfef3d-2b87-4e99-8ccb-66e343d2daa8', 'Profile'],
];

/**
 * The `ResourceAreas` list, with trailing-slash location URLs as the real service returns them,
 * in the URL form the request used (`urls`, views.ts orgUrls): asked at
 * https://contoso.visualstudio.com, Graph is at https://contoso.vssps.visualstudio.com/; asked at
 * https://dev.azure.com/contoso, at https://vssps.dev.azure.com/contoso/. Clients find the hosts
 * here instead of building them (learn.microsoft.com/azure/devops/extend/develop/work-with-urls).
 */
export function resourceAreas(urls: OrgUrls): { id: string; name: string; locationUrl: string }[] {
  const at = (host: string): string => `${host}/`;
  return [
    ...ORG_AREAS.map(([id, name]) => ({ id, name, locationUrl: at(urls.devops) })),
    { id: AREA_IDS.graph, name: 'Graph', locationUrl: at(urls.vssps) },
    { id: AREA_IDS.ims, name: 'IMS', locationUrl: at(urls.vssps) },
    { id: AREA_IDS.memberEntitlementManagement, name: 'MemberEntitlementManagement', locationUrl: at(urls.vsaex) },
  ];
}
