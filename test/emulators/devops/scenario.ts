/**
 * The devops section of the built-in scenarios, and validation of a loaded section.
 *
 * `fresh`: organization contoso (tenant of names.ts), project platform, repository fleet with a
 * Flux 2.4 bootstrap over SSH at clusters/prod (seed/fleet), the azure-prod service connection
 * whose service principal is a Project Collection Administrator with Basic, the project build
 * service with the default Read/Contribute/Create branch/Create tag/Manage notes/Contribute to PRs.
 * `converged`: plus the managed identity flux-aks-prod in the organization (Basic), in team
 * "AKS Managed Identities Team", the team with Read + Contribute on fleet, and the flux-system
 * folder patched for workload identity (seed/fleet-converged).
 */
import * as fs from 'node:fs';
import type { ScenarioInput, ScenarioSection } from '../core/service';
import type { CloudState } from '../state';
import { FRESH, GIT_SECURITY_NAMESPACE } from '../names';
import { resolveSeedFolder } from './git/repos';
import { isGuid } from './http';
import { groupSid, groupView, looksLikeSubjectDescriptor, principalView } from './identity';
import { BUILD_SERVICE_ID, CONVERGED_IDENTITY, GROUP_IDS, ORG_OWNER, PIPELINE, SC_PRINCIPAL_STORAGE_KEY } from './ids';
import type { AccountLicense, DevOpsState, GroupKind, GroupState, PrincipalState } from './model';
import { GIT_BITS, namespaceById } from './security';

/** Contributors' default Git rights: Read, Contribute, Create branch, Create tag, Manage notes, Contribute to pull requests. */
export const CONTRIBUTOR_GIT_BITS =
  GIT_BITS.read |
  GIT_BITS.contribute |
  GIT_BITS.createBranch |
  GIT_BITS.createTag |
  GIT_BITS.manageNote |
  GIT_BITS.pullRequestContribute;
/** What FluxOidcProvision grants the team: Read + Contribute. */
export const TEAM_GIT_BITS = GIT_BITS.read | GIT_BITS.contribute;

const ORG_CREATED = '2025-01-06T08:00:00.000Z';

function group(
  id: string,
  kind: GroupKind,
  displayName: string,
  description: string,
  projectId: string | undefined,
  members: string[] = [],
): GroupState {
  const g: GroupState = {
    id,
    kind,
    displayName,
    description,
    sid: groupSid(projectId ?? FRESH.organizationId, id),
    members,
  };
  if (projectId) g.projectId = projectId;
  return g;
}

function fresh(): DevOpsState {
  const p = FRESH.projectId;
  const principals: PrincipalState[] = [
    {
      kind: 'user',
      id: ORG_OWNER.storageKey,
      displayName: ORG_OWNER.displayName,
      originId: ORG_OWNER.originId,
      principalName: ORG_OWNER.principalName,
      license: 'express',
      dateCreated: ORG_CREATED,
      lastAccessedDate: ORG_CREATED,
    },
    {
      kind: 'servicePrincipal',
      id: SC_PRINCIPAL_STORAGE_KEY,
      displayName: `${FRESH.organization}-${FRESH.project}-${FRESH.serviceConnectionName}`,
      originId: FRESH.serviceConnectionObjectId,
      applicationId: FRESH.serviceConnectionAppId,
      license: 'express',
      dateCreated: ORG_CREATED,
    },
    {
      kind: 'build',
      id: BUILD_SERVICE_ID,
      displayName: `${FRESH.project} Build Service (${FRESH.organization})`,
      projectId: p,
    },
  ];
  const groups: GroupState[] = [
    group(
      GROUP_IDS.projectCollectionAdministrators,
      'collectionAdministrators',
      'Project Collection Administrators',
      'Members of this application group can perform all privileged operations on the Team Project Collection.',
      undefined,
      [ORG_OWNER.storageKey, SC_PRINCIPAL_STORAGE_KEY],
    ),
    group(
      GROUP_IDS.projectCollectionValidUsers,
      'collectionValidUsers',
      'Project Collection Valid Users',
      'This application group contains all users and groups that have access to the Team Project Collection.',
      undefined,
    ),
    group(
      GROUP_IDS.projectCollectionBuildServiceAccounts,
      'collectionBuildServiceAccounts',
      'Project Collection Build Service Accounts',
      'Members of this group should include the service accounts used by the build services set up for this project collection.',
      undefined,
      [BUILD_SERVICE_ID],
    ),
    group(
      GROUP_IDS.projectAdministrators,
      'projectAdministrators',
      'Project Administrators',
      'Members of this group can perform all operations in the team project.',
      p,
      [ORG_OWNER.storageKey],
    ),
    group(
      GROUP_IDS.contributors,
      'contributors',
      'Contributors',
      'Members of this group can add, modify, and delete items within the team project.',
      p,
      [GROUP_IDS.defaultTeam],
    ),
    group(GROUP_IDS.readers, 'readers', 'Readers', 'Members of this group have access to the team project.', p),
    group(
      GROUP_IDS.projectValidUsers,
      'projectValidUsers',
      'Project Valid Users',
      'Members of this group have access to the team project.',
      p,
    ),
    group(
      GROUP_IDS.buildAdministrators,
      'buildAdministrators',
      'Build Administrators',
      'Members of this group can create, modify and delete build definitions and manage queued and completed builds.',
      p,
    ),
    {
      ...group(GROUP_IDS.defaultTeam, 'team', `${FRESH.project} Team`, 'The default project team.', p, [
        ORG_OWNER.storageKey,
      ]),
      admins: [ORG_OWNER.storageKey],
    },
  ];
  const state: DevOpsState = {
    organization: { name: FRESH.organization, id: FRESH.organizationId, tenantId: FRESH.tenantId },
    principals,
    groups,
    projects: [
      {
        id: p,
        name: FRESH.project,
        description: 'Platform engineering: cluster fleet and GitOps',
        visibility: 'private',
        defaultTeamId: GROUP_IDS.defaultTeam,
        repositories: [
          {
            id: FRESH.repositoryId,
            name: FRESH.repository,
            defaultBranch: FRESH.branch,
            seed: [
              { message: 'Initial commit', folder: 'fleet', include: ['README.md'] },
              {
                message: 'Add Flux v2.4.0 component manifests',
                folder: 'fleet',
                include: [`${FRESH.clusterPath}/flux-system/gotk-components.yaml`],
              },
              { message: 'Add Flux sync manifests', folder: 'fleet' },
            ],
            pullRequests: [],
          },
        ],
      },
    ],
    acls: [],
    serviceConnections: [
      {
        id: FRESH.serviceConnectionId,
        name: FRESH.serviceConnectionName,
        projectId: p,
        type: 'azurerm',
        authorizationScheme: 'WorkloadIdentityFederation',
        tenantId: FRESH.tenantId,
        servicePrincipalId: FRESH.serviceConnectionAppId,
        principalObjectId: FRESH.serviceConnectionObjectId,
      },
    ],
    pipeline: {
      projectId: p,
      hubName: PIPELINE.hubName,
      planId: PIPELINE.planId,
      jobId: PIPELINE.jobId,
      buildId: PIPELINE.buildId,
      repositoryId: FRESH.repositoryId,
      sourceBranch: `refs/heads/${FRESH.branch}`,
    },
    faults: {},
  };
  const legacy = (id: string): string => {
    const g = state.groups.find((x) => x.id === id);
    if (g) return groupView(state, g).legacyDescriptor;
    return principalView(
      state,
      state.principals.find((x) => x.id === id)!,
    ).legacyDescriptor;
  };
  state.acls = [
    {
      namespaceId: GIT_SECURITY_NAMESPACE,
      token: 'repoV2',
      inheritPermissions: true,
      aces: [{ descriptor: legacy(GROUP_IDS.projectCollectionAdministrators), allow: GIT_BITS.all, deny: 0 }],
    },
    {
      namespaceId: GIT_SECURITY_NAMESPACE,
      token: `repoV2/${p}`,
      inheritPermissions: true,
      aces: [
        { descriptor: legacy(GROUP_IDS.projectAdministrators), allow: GIT_BITS.all, deny: 0 },
        { descriptor: legacy(GROUP_IDS.contributors), allow: CONTRIBUTOR_GIT_BITS, deny: 0 },
        { descriptor: legacy(GROUP_IDS.readers), allow: GIT_BITS.read, deny: 0 },
        { descriptor: legacy(BUILD_SERVICE_ID), allow: CONTRIBUTOR_GIT_BITS, deny: 0 },
      ],
    },
  ];
  return state;
}

function converged(): DevOpsState {
  const s = fresh();
  const p = FRESH.projectId;
  s.principals.push({
    kind: 'servicePrincipal',
    id: CONVERGED_IDENTITY.storageKey,
    displayName: FRESH.identityName,
    originId: CONVERGED_IDENTITY.principalId,
    applicationId: CONVERGED_IDENTITY.clientId,
    license: 'express',
    dateCreated: '2025-01-06T10:00:00.000Z',
  });
  const team: GroupState = {
    ...group(
      CONVERGED_IDENTITY.teamId,
      'team',
      FRESH.teamName,
      "Managed identities of AKS clusters that read this project's repositories (FluxOidcProvision).",
      p,
      [CONVERGED_IDENTITY.storageKey],
    ),
    admins: [SC_PRINCIPAL_STORAGE_KEY],
  };
  s.groups.push(team);
  s.acls.push({
    namespaceId: GIT_SECURITY_NAMESPACE,
    token: `repoV2/${p}/${FRESH.repositoryId}`,
    inheritPermissions: true,
    aces: [{ descriptor: groupView(s, team).legacyDescriptor, allow: TEAM_GIT_BITS, deny: 0 }],
  });
  s.projects[0]!.repositories[0]!.seed.push({
    message: 'Flux OIDC: use AKS workload identity for Azure DevOps (provider: azure)',
    folder: 'fleet-converged',
  });
  return s;
}

const LICENSES: AccountLicense[] = ['none', 'earlyAdopter', 'express', 'professional', 'advanced', 'stakeholder'];
const KINDS: GroupKind[] = [
  'collectionAdministrators',
  'collectionValidUsers',
  'collectionBuildServiceAccounts',
  'projectAdministrators',
  'projectValidUsers',
  'contributors',
  'readers',
  'buildAdministrators',
  'team',
  'custom',
];

/** Problems in a devops section, one line each, naming the field and the fix. */
export function validateDevOps(s: DevOpsState, root?: CloudState): string[] {
  const out: string[] = [];
  const bad = (field: string, msg: string): void => {
    out.push(`devops.${field}: ${msg}`);
  };
  if (!s || typeof s !== 'object')
    return [
      'devops: missing; give the section (organization, principals, groups, projects, acls, serviceConnections, pipeline)',
    ];
  for (const key of ['principals', 'groups', 'projects', 'acls', 'serviceConnections'] as const) {
    if (!Array.isArray(s[key])) bad(key, 'missing or not a list; give a list (may be empty)');
  }
  if (out.length) return out;
  const org = s.organization;
  if (!org?.name || !/^[A-Za-z0-9][A-Za-z0-9-]{0,48}$/.test(org.name))
    bad('organization.name', `'${org?.name}' is not an organization name (letters, digits, hyphens)`);
  if (!isGuid(org?.id)) bad('organization.id', 'must be a GUID (the organization id, used by the OIDC issuer URL)');
  if (!isGuid(org?.tenantId))
    bad('organization.tenantId', 'must be the GUID of the Entra tenant the organization is connected to');
  if (org?.primaryUrl !== undefined && org.primaryUrl !== 'new' && org.primaryUrl !== 'legacy')
    bad(
      'organization.primaryUrl',
      `'${String(org.primaryUrl)}' is not a URL form; use legacy (https://{org}.visualstudio.com) or new (https://dev.azure.com/{org}), or leave it out (the emulator's address)`,
    );
  const ids = new Set<string>();
  const projectIds = new Set(s.projects.map((p) => p.id.toLowerCase()));
  s.principals.forEach((p, i) => {
    const f = `principals[${i}]`;
    if (!isGuid(p.id)) bad(`${f}.id`, 'must be a GUID (the storage key)');
    else if (ids.has(p.id.toLowerCase())) bad(`${f}.id`, `duplicate id ${p.id}`);
    ids.add(p.id.toLowerCase());
    if (!['servicePrincipal', 'user', 'build'].includes(p.kind))
      bad(`${f}.kind`, `'${p.kind}' is not servicePrincipal, user or build`);
    if (p.kind !== 'build' && !isGuid(p.originId)) bad(`${f}.originId`, 'must be the Entra object id (GUID)');
    if (p.kind === 'user' && !p.principalName) bad(`${f}.principalName`, 'missing; give the user principal name (UPN)');
    if (p.kind === 'build' && !projectIds.has(String(p.projectId).toLowerCase()))
      bad(`${f}.projectId`, `'${p.projectId}' is not a project id of devops.projects`);
    if (p.license !== undefined && !LICENSES.includes(p.license))
      bad(`${f}.license`, `'${p.license}' is not one of ${LICENSES.join(', ')}`);
  });
  s.groups.forEach((g, i) => {
    const f = `groups[${i}]`;
    if (!isGuid(g.id)) bad(`${f}.id`, 'must be a GUID (the storage key; the team id for teams)');
    else if (ids.has(g.id.toLowerCase())) bad(`${f}.id`, `duplicate id ${g.id}`);
    ids.add(g.id.toLowerCase());
    if (!KINDS.includes(g.kind)) bad(`${f}.kind`, `'${g.kind}' is not one of ${KINDS.join(', ')}`);
    if (!/^S-1-9-\d+(-\d+)+$/.test(g.sid ?? '')) bad(`${f}.sid`, `'${g.sid}' is not a group SID (S-1-9-…)`);
    if (g.projectId !== undefined && !projectIds.has(g.projectId.toLowerCase()))
      bad(`${f}.projectId`, `'${g.projectId}' is not a project id of devops.projects`);
    if (g.kind === 'team' && g.projectId === undefined)
      bad(`${f}.projectId`, 'a team belongs to a project; give its projectId');
    if (!Array.isArray(g.members)) bad(`${f}.members`, 'missing; give a list of principal or group ids');
  });
  s.groups.forEach((g, i) =>
    (g.members ?? []).forEach((m, j) => {
      if (!ids.has(String(m).toLowerCase()))
        bad(`groups[${i}].members[${j}]`, `'${m}' is not the id of a principal or group`);
    }),
  );
  if (s.groups.filter((g) => g.kind === 'collectionAdministrators').length !== 1)
    bad('groups', 'needs exactly one group of kind collectionAdministrators');
  const repoIds = new Set<string>();
  s.projects.forEach((p, i) => {
    const f = `projects[${i}]`;
    if (!isGuid(p.id)) bad(`${f}.id`, 'must be a GUID');
    if (!p.name) bad(`${f}.name`, 'missing; give the project a name');
    if (
      !s.groups.some(
        (g) =>
          g.kind === 'team' &&
          g.id.toLowerCase() === String(p.defaultTeamId).toLowerCase() &&
          g.projectId?.toLowerCase() === p.id.toLowerCase(),
      )
    ) {
      bad(`${f}.defaultTeamId`, `'${p.defaultTeamId}' is not a team (groups kind team) of this project`);
    }
    (p.repositories ?? []).forEach((r, j) => {
      const rf = `${f}.repositories[${j}]`;
      if (!isGuid(r.id)) bad(`${rf}.id`, 'must be a GUID');
      else if (repoIds.has(r.id.toLowerCase())) bad(`${rf}.id`, `duplicate repository id ${r.id}`);
      repoIds.add(String(r.id).toLowerCase());
      if (!r.name) bad(`${rf}.name`, 'missing; give the repository a name');
      if (!Array.isArray(r.seed))
        bad(`${rf}.seed`, 'missing; give a list of seed commits (may be empty for an empty repository)');
      (r.seed ?? []).forEach((c, k) => {
        if (!c.message) bad(`${rf}.seed[${k}].message`, 'missing; every seed commit needs a message');
        if (c.folder && !fs.existsSync(resolveSeedFolder(c.folder)))
          bad(`${rf}.seed[${k}].folder`, `'${c.folder}' does not exist (${resolveSeedFolder(c.folder)})`);
      });
      if (r.history !== undefined && (typeof r.history !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(r.history)))
        bad(`${rf}.history`, 'must be a base64 git bundle as a dump writes it; remove it to start from seed');
    });
  });
  s.acls.forEach((a, i) => {
    const f = `acls[${i}]`;
    if (!namespaceById(String(a.namespaceId)))
      bad(
        `${f}.namespaceId`,
        `'${a.namespaceId}' is not a security namespace (Git Repositories is ${GIT_SECURITY_NAMESPACE})`,
      );
    if (!a.token) bad(`${f}.token`, 'missing; give the security token (for Git: repoV2/{projectId}/{repositoryId})');
    (a.aces ?? []).forEach((e, j) => {
      if (!e.descriptor || looksLikeSubjectDescriptor(e.descriptor))
        bad(
          `${f}.aces[${j}].descriptor`,
          `'${e.descriptor}' must be a legacy identity descriptor (Microsoft.TeamFoundation.Identity;S-1-9-…)`,
        );
      if (!Number.isInteger(e.allow) || !Number.isInteger(e.deny))
        bad(`${f}.aces[${j}]`, 'allow and deny must be integer bit masks');
    });
  });
  const apps = root?.azure?.tenant?.applications ?? [];
  s.serviceConnections.forEach((c, i) => {
    const f = `serviceConnections[${i}]`;
    if (!isGuid(c.id)) bad(`${f}.id`, 'must be a GUID');
    if (!c.name) bad(`${f}.name`, 'missing; give the connection a name');
    if (!projectIds.has(String(c.projectId).toLowerCase()))
      bad(`${f}.projectId`, `'${c.projectId}' is not a project id of devops.projects`);
    if (!isGuid(c.servicePrincipalId) || !isGuid(c.principalObjectId))
      bad(f, 'servicePrincipalId (app id) and principalObjectId (service principal object id) must be GUIDs');
    const bound = apps.find((a) => a.serviceConnection && a.serviceConnection.id.toLowerCase() === c.id.toLowerCase());
    if (bound && bound.appId.toLowerCase() !== String(c.servicePrincipalId).toLowerCase()) {
      bad(
        `${f}.servicePrincipalId`,
        `'${c.servicePrincipalId}' differs from the app bound to this connection in azure.tenant.applications (${bound.appId}); use the same app`,
      );
    }
  });
  const pl = s.pipeline;
  if (!pl) bad('pipeline', 'missing; give projectId, hubName, planId, jobId, buildId, repositoryId, sourceBranch');
  else {
    if (!projectIds.has(String(pl.projectId).toLowerCase()))
      bad('pipeline.projectId', `'${pl.projectId}' is not a project id of devops.projects`);
    else if (!s.principals.some((p) => p.kind === 'build' && p.projectId?.toLowerCase() === pl.projectId.toLowerCase()))
      bad('principals', `no build service identity (kind: build) for the pipeline project ${pl.projectId}`);
    if (!isGuid(pl.planId) || !isGuid(pl.jobId)) bad('pipeline', 'planId and jobId must be GUIDs');
    if (!repoIds.has(String(pl.repositoryId).toLowerCase()))
      bad('pipeline.repositoryId', `'${pl.repositoryId}' is not a repository id of devops.projects`);
  }
  return out;
}

export const devopsScenario: ScenarioSection<DevOpsState> = {
  build(input: ScenarioInput): DevOpsState {
    if (input.scenario === 'converged') return converged();
    if (input.scenario === 'fresh') return fresh();
    throw new Error(`devops: unknown scenario '${String(input.scenario)}' (built-in: fresh, converged)`);
  },
  validate: (section, root) => validateDevOps(section, root),
};
