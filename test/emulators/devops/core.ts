/**
 * Location (connectionData, ResourceAreas) and Core (projects, teams, team members) on the
 * organization host. A team is a group: its id is its identity id, and Graph sees it as `vssgp.…`.
 */
import * as crypto from 'node:crypto';
import { TF, vssError } from './errors';
import { collection, jsonBody, ok, prop, queryBool, queryInt, route } from './http';
import { allGroups, groupSid, groupView, identityById, isCollectionAdmin, isProjectAdmin, sameId } from './identity';
import { resourceAreas } from './locations';
import type { DevOpsState, GroupState, ProjectState } from './model';
import { findProject, who, type DevOpsRoute, type Req } from './service';
import { identityRef, imsIdentity, projectRef, type OrgUrls } from './views';

/** Whether an identity sees a project (collection admins see all; others through a project group). */
export function canSeeProject(state: DevOpsState, id: string, projectId: string): boolean {
  if (isCollectionAdmin(state, id)) return true;
  const self = identityById(state, id);
  if (self?.principal?.kind === 'build' && sameId(self.principal.projectId, projectId)) return true;
  return allGroups(state, id).some((g) => sameId(g.projectId, projectId));
}

function connectionData(r: Req) {
  const s = r.ctx.state;
  const caller = r.ctx.caller;
  const user = caller
    ? { ...imsIdentity(s, caller.identity, 'none') }
    : {
        id: 'aa0f5f2c-7c12-4d68-a5d9-0f2dd8c1a8f4',
        descriptor: 'Microsoft.TeamFoundation.UnauthenticatedIdentity;S-1-0-0',
        subjectDescriptor: 'uauth.Uy0xLTAtMA',
        providerDisplayName: 'Anonymous',
        isActive: true,
        members: [],
        memberOf: [],
        properties: {},
        resourceVersion: 2,
        metaTypeId: -1,
      };
  const accessPoint = `${r.ctx.orgUrl}/`;
  return ok(
    {
      authenticatedUser: user,
      authorizedUser: user,
      instanceId: s.organization.id,
      deploymentId: s.organization.id,
      deploymentType: 'hosted',
      locationServiceData: {
        serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
        defaultAccessMappingMoniker: 'PublicAccessMapping',
        lastChangeId: 1,
        lastChangeId64: 1,
        accessMappings: [
          {
            displayName: 'Public Access Mapping',
            moniker: 'PublicAccessMapping',
            accessPoint,
            serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
            virtualDirectory: '',
          },
        ],
      },
    },
    200,
    false,
  );
}

function areas(r: Req) {
  const all = resourceAreas(r.ctx.urls);
  const id = r.params.areaId;
  if (id) {
    const hit = all.find((a) => sameId(a.id, id));
    if (!hit) throw vssError(404, 'VssResourceNotFoundException', `Resource area ${id} is not known.`, 'WebApi');
    return ok(hit);
  }
  return ok(collection(all));
}

function visibleProject(r: Req, key: string): ProjectState {
  const s = r.ctx.state;
  const p = findProject(s, key);
  if (!p || !canSeeProject(s, who(r).identity.id, p.id))
    throw vssError(404, 'ProjectDoesNotExistWithNameException', TF.projectNotFound(key), 'Core');
  return p;
}

function listProjects(r: Req) {
  const s = r.ctx.state;
  const id = who(r).identity.id;
  let list = s.projects.filter((p) => canSeeProject(s, id, p.id));
  const skip = queryInt(r.req, '$skip') ?? 0;
  const top = queryInt(r.req, '$top');
  list = list.slice(skip, top !== undefined ? skip + top : undefined);
  return ok(collection(list.map((p) => projectRef(r.ctx.urls, p))));
}

function getProject(r: Req) {
  const p = visibleProject(r, r.params.projectId ?? '');
  const json = projectRef(r.ctx.urls, p, true);
  if (queryBool(r.req, 'includeCapabilities')) {
    json.capabilities = {
      versioncontrol: { sourceControlType: 'Git', gitEnabled: 'True', tfvcEnabled: 'False' },
      processTemplate: { templateName: 'Agile', templateTypeId: 'adcc42ab-9882-485e-a3ed-7678f01f66bc' },
    };
  }
  return ok(json);
}

function teamsOf(s: DevOpsState, projectId: string): GroupState[] {
  return s.groups.filter((g) => g.kind === 'team' && sameId(g.projectId, projectId));
}

function teamJson(
  u: OrgUrls,
  s: DevOpsState,
  p: ProjectState,
  g: GroupState,
  expandIdentity = false,
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: g.id,
    name: g.displayName,
    url: `${u.devops}/_apis/projects/${p.id}/teams/${g.id}`,
    description: g.description ?? '',
    identityUrl: `${u.vssps}/_apis/Identities/${g.id}`,
    projectName: p.name,
    projectId: p.id,
  };
  if (expandIdentity) json.identity = imsIdentity(s, groupView(s, g), 'none');
  return json;
}

function findTeam(s: DevOpsState, p: ProjectState, key: string): GroupState {
  const t = teamsOf(s, p.id).find((g) => sameId(g.id, key) || g.displayName.toLowerCase() === key.toLowerCase());
  if (!t)
    throw vssError(
      404,
      'TeamNotFoundException',
      `The team with id or name '${key}' does not exist in project '${p.name}'.`,
      'Core',
    );
  return t;
}

function listTeams(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  const me = who(r).identity.id;
  let teams = teamsOf(s, p.id);
  if (queryBool(r.req, '$mine')) teams = teams.filter((t) => allGroups(s, me).some((g) => sameId(g.id, t.id)));
  const skip = queryInt(r.req, '$skip') ?? 0;
  const top = queryInt(r.req, '$top') ?? 100;
  const expand = queryBool(r.req, '$expandIdentity') ?? false;
  return ok(collection(teams.slice(skip, skip + top).map((t) => teamJson(r.ctx.urls, s, p, t, expand))));
}

function getTeam(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  return ok(
    teamJson(r.ctx.urls, s, p, findTeam(s, p, r.params.teamId ?? ''), queryBool(r.req, '$expandIdentity') ?? false),
  );
}

const BAD_TEAM_CHARS = /[\\/:*?"<>|;#$*{},+=[\]]/;

function createTeam(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  const caller = who(r);
  const body = jsonBody(r.req, 'team');
  const name = prop<string>(body, 'name');
  const description = prop<string>(body, 'description') ?? '';
  if (typeof name !== 'string' || !name.trim())
    throw vssError(400, 'ArgumentNullException', 'Value cannot be null. Parameter name: name. Give the team a name.');
  if (name.length > 64 || BAD_TEAM_CHARS.test(name) || name.trim() !== name) {
    throw vssError(
      400,
      'InvalidTeamNameException',
      `The team name '${name}' is not valid: at most 64 characters, no leading/trailing spaces, none of \\ / : * ? " < > | ; # $ { } , + = [ ].`,
      'Core',
    );
  }
  if (!isProjectAdmin(s, caller.identity.id, p.id)) {
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(caller.identity.displayName, `project ${p.name}`, 'Create teams (Project Administrators)'),
      'Security',
    );
  }
  if (s.groups.some((g) => sameId(g.projectId, p.id) && g.displayName.toLowerCase() === name.toLowerCase())) {
    // UNVERIFIED wording.
    throw vssError(
      409,
      'TeamAlreadyExistsException',
      `A team or group named '${name}' already exists in project '${p.name}'.`,
      'Core',
    );
  }
  const id = crypto.randomUUID();
  const team: GroupState = {
    id,
    kind: 'team',
    displayName: name,
    description,
    projectId: p.id,
    sid: groupSid(p.id, id),
    members: [],
    admins: [caller.identity.id],
  };
  s.groups.push(team);
  return ok(teamJson(r.ctx.urls, s, p, team));
}

function updateTeam(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  const t = findTeam(s, p, r.params.teamId ?? '');
  if (!isProjectAdmin(s, who(r).identity.id, p.id))
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(who(r).identity.displayName, `team ${t.displayName}`, 'Manage team'),
      'Security',
    );
  const body = jsonBody(r.req, 'team');
  const name = prop<string>(body, 'name');
  const description = prop<string>(body, 'description');
  if (typeof name === 'string' && name.trim()) t.displayName = name;
  if (typeof description === 'string') t.description = description;
  return ok(teamJson(r.ctx.urls, s, p, t));
}

function deleteTeam(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  const t = findTeam(s, p, r.params.teamId ?? '');
  if (!isProjectAdmin(s, who(r).identity.id, p.id))
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(who(r).identity.displayName, `team ${t.displayName}`, 'Delete team'),
      'Security',
    );
  if (sameId(t.id, p.defaultTeamId))
    throw vssError(
      400,
      'InvalidOperationException',
      `The default team '${t.displayName}' of project '${p.name}' cannot be deleted.`,
      'Core',
    );
  s.groups = s.groups.filter((g) => g !== t);
  for (const g of s.groups) g.members = g.members.filter((m) => !sameId(m, t.id));
  return { status: 204 };
}

function teamMembers(r: Req) {
  const s = r.ctx.state;
  const p = visibleProject(r, r.params.projectId ?? '');
  const t = findTeam(s, p, r.params.teamId ?? '');
  const skip = queryInt(r.req, '$skip') ?? 0;
  const top = queryInt(r.req, '$top') ?? 100;
  const members = t.members.map((m) => identityById(s, m)).filter((v): v is NonNullable<typeof v> => !!v);
  return ok(
    collection(
      members.slice(skip, skip + top).map((v) => ({
        isTeamAdmin: (t.admins ?? []).some((a) => sameId(a, v.id)),
        identity: identityRef(r.ctx.urls, v),
      })),
    ),
  );
}

export const locationRoutes: DevOpsRoute[] = [
  route('GET', '_apis/connectionData', { optional: true, anonymous: true }, connectionData),
  route('GET', '_apis/ResourceAreas', { optional: true, anonymous: true }, areas),
  route('GET', '_apis/ResourceAreas/:areaId', { optional: true, anonymous: true }, areas),
];

export const coreRoutes: DevOpsRoute[] = [
  route('GET', '_apis/projects', {}, listProjects),
  route('GET', '_apis/projects/:projectId', {}, getProject),
  route('GET', '_apis/projects/:projectId/teams', {}, listTeams),
  route('POST', '_apis/projects/:projectId/teams', {}, createTeam),
  route('GET', '_apis/projects/:projectId/teams/:teamId', {}, getTeam),
  route('PATCH', '_apis/projects/:projectId/teams/:teamId', {}, updateTeam),
  route('DELETE', '_apis/projects/:projectId/teams/:teamId', {}, deleteTeam),
  route('GET', '_apis/projects/:projectId/teams/:teamId/members', {}, teamMembers),
];
