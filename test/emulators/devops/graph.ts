/**
 * vssps: Graph (descriptors, storage keys, service principals, users, groups, memberships, subject
 * lookup) and IMS identities with legacy descriptors. Memberships are what makes a team's ACEs
 * apply to its members.
 */
import * as crypto from 'node:crypto';
import { TF, vssError } from './errors';
import { collection, jsonBody, ok, prop, query, queryList, route, isGuid } from './http';
import {
  allGroups,
  allIdentities,
  directGroups,
  groupView,
  identityById,
  identityByLegacyDescriptor,
  identityBySubjectDescriptor,
  isCollectionAdmin,
  isProjectAdmin,
  principalByOrigin,
  sameId,
  type IdentityView,
} from './identity';
import type { DevOpsState, GroupState, PrincipalState } from './model';
import { who, type DevOpsRoute, type Req } from './service';
import { graphSubject, imsIdentity, type OrgUrls } from './views';

function subjectOr404(s: DevOpsState, d: string): IdentityView {
  const v = identityBySubjectDescriptor(s, d);
  if (!v)
    throw vssError(
      404,
      'GraphSubjectNotFoundException',
      `The subject with descriptor '${d}' could not be found.`,
      'Graph',
    );
  return v;
}

function membershipJson(u: OrgUrls, member: IdentityView, container: IdentityView): Record<string, unknown> {
  const kindPath =
    member.kind === 'group' ? 'Groups' : member.kind === 'servicePrincipal' ? 'ServicePrincipals' : 'Users';
  return {
    containerDescriptor: container.subjectDescriptor,
    memberDescriptor: member.subjectDescriptor,
    _links: {
      self: { href: `${u.vssps}/_apis/Graph/Memberships/${member.subjectDescriptor}/${container.subjectDescriptor}` },
      member: { href: `${u.vssps}/_apis/Graph/${kindPath}/${member.subjectDescriptor}` },
      container: { href: `${u.vssps}/_apis/Graph/Groups/${container.subjectDescriptor}` },
    },
  };
}

/** May the caller change the members of this group? (Identity namespace "Manage group membership".) */
function requireManageMembership(r: Req, g: GroupState): void {
  const s = r.ctx.state;
  const caller = who(r);
  const id = caller.identity.id;
  const ok =
    isCollectionAdmin(s, id) ||
    (g.projectId !== undefined && isProjectAdmin(s, id, g.projectId)) ||
    (g.kind === 'team' && (g.admins ?? []).some((a) => sameId(a, id)));
  if (!ok)
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(caller.identity.displayName, groupView(s, g).principalName, 'Manage group membership'),
      'Security',
    );
}

function descriptorOf(r: Req) {
  const s = r.ctx.state;
  const key = r.params.storageKey ?? '';
  const v = isGuid(key) ? identityById(s, key) : undefined;
  if (!v)
    throw vssError(
      404,
      'GraphSubjectNotFoundException',
      `No subject with storage key '${key}' exists in this organization.`,
      'Graph',
    );
  const u = r.ctx.urls;
  const kindPath = v.kind === 'group' ? 'Groups' : v.kind === 'servicePrincipal' ? 'ServicePrincipals' : 'Users';
  return ok({
    value: v.subjectDescriptor,
    _links: {
      self: { href: `${u.vssps}/_apis/Graph/Descriptors/${v.id}` },
      storageKey: { href: `${u.vssps}/_apis/Graph/StorageKeys/${v.subjectDescriptor}` },
      subject: { href: `${u.vssps}/_apis/Graph/${kindPath}/${v.subjectDescriptor}` },
    },
  });
}

function storageKeyOf(r: Req) {
  const v = subjectOr404(r.ctx.state, r.params.descriptor ?? '');
  const u = r.ctx.urls;
  return ok({
    value: v.id,
    _links: {
      self: { href: `${u.vssps}/_apis/Graph/StorageKeys/${v.subjectDescriptor}` },
      descriptor: { href: `${u.vssps}/_apis/Graph/Descriptors/${v.id}` },
    },
  });
}

function listGroups(r: Req) {
  const s = r.ctx.state;
  const scope = query(r.req, 'scopeDescriptor');
  let groups = s.groups;
  if (scope) {
    // scp.{base64 of the scope id}: the organization or a project.
    const m = /^scp\.(.+)$/.exec(scope);
    const scopeId = m ? Buffer.from(m[1]!, 'base64url').toString('utf8') : scope;
    groups = sameId(scopeId, s.organization.id)
      ? groups.filter((g) => !g.projectId)
      : groups.filter((g) => sameId(g.projectId, scopeId));
  }
  return ok(collection(groups.map((g) => graphSubject(r.ctx.urls, s, groupView(s, g)))));
}

function getGroup(r: Req) {
  const v = subjectOr404(r.ctx.state, r.params.descriptor ?? '');
  if (v.kind !== 'group')
    throw vssError(404, 'GraphSubjectNotFoundException', `'${v.subjectDescriptor}' is not a group.`, 'Graph');
  return ok(graphSubject(r.ctx.urls, r.ctx.state, v));
}

function listKind(kinds: PrincipalState['kind'][]) {
  return (r: Req) => {
    const s = r.ctx.state;
    const list = s.principals.filter((p) => kinds.includes(p.kind)).map((p) => identityById(s, p.id)!);
    return ok(collection(list.map((v) => graphSubject(r.ctx.urls, s, v))));
  };
}

function getKind(kinds: IdentityView['kind'][]) {
  return (r: Req) => {
    const v = subjectOr404(r.ctx.state, r.params.descriptor ?? '');
    if (!kinds.includes(v.kind))
      throw vssError(
        404,
        'GraphSubjectNotFoundException',
        `'${v.subjectDescriptor}' is not a ${kinds.join(' or ')}.`,
        'Graph',
      );
    return ok(graphSubject(r.ctx.urls, r.ctx.state, v));
  };
}

/** Materializes an Entra service principal (not active in the organization until entitled). */
function createServicePrincipal(r: Req) {
  const s = r.ctx.state;
  const caller = who(r);
  const body = jsonBody(r.req, 'service principal creation context');
  const originId = prop<string>(body, 'originId');
  if (typeof originId !== 'string' || !isGuid(originId)) {
    throw vssError(
      400,
      'InvalidGraphSubjectCreationContextException',
      `originId must be the object id (GUID) of the Entra service principal, got ${JSON.stringify(originId)}.`,
      'Graph',
    );
  }
  if (!isCollectionAdmin(s, caller.identity.id)) {
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(caller.identity.displayName, 'Users', 'Add Users'),
      'Security',
    );
  }
  const entra = r.ctx.svc.cloud.entra.principal(originId);
  if (!entra || !sameId(entra.objectId, originId) || !sameId(entra.tenantId, s.organization.tenantId)) {
    throw vssError(
      400,
      'GraphBadRequestException',
      `Failed to create service principal with object ID '${originId}': no service principal with this object id in tenant ${s.organization.tenantId}. Pass the service principal's (enterprise application's) object id, not the app registration's.`,
      'Graph',
    );
  }
  let p = principalByOrigin(s, originId);
  if (!p) {
    const storageKey = prop<string>(body, 'storageKey');
    p = {
      kind: 'servicePrincipal',
      id: isGuid(storageKey) ? storageKey! : crypto.randomUUID(),
      displayName: entra.displayName,
      originId: entra.objectId,
      applicationId: entra.appId,
    };
    s.principals.push(p);
  }
  for (const d of queryList(r.req, 'groupDescriptors')) {
    const g = subjectOr404(s, d);
    if (!g.group) throw vssError(400, 'GraphBadRequestException', `groupDescriptors: '${d}' is not a group.`, 'Graph');
    requireManageMembership(r, g.group);
    if (!g.group.members.some((m) => sameId(m, p!.id))) g.group.members.push(p.id);
  }
  return ok(graphSubject(r.ctx.urls, s, identityById(s, p.id)!), 201);
}

function deleteServicePrincipal(r: Req) {
  const s = r.ctx.state;
  const v = subjectOr404(s, r.params.descriptor ?? '');
  if (v.kind !== 'servicePrincipal')
    throw vssError(
      404,
      'GraphSubjectNotFoundException',
      `'${v.subjectDescriptor}' is not a service principal.`,
      'Graph',
    );
  if (!isCollectionAdmin(s, who(r).identity.id))
    throw vssError(
      403,
      'AccessCheckException',
      TF.accessDenied(who(r).identity.displayName, 'Users', 'Delete Users'),
      'Security',
    );
  s.principals = s.principals.filter((p) => !sameId(p.id, v.id));
  for (const g of s.groups) g.members = g.members.filter((m) => !sameId(m, v.id));
  return { status: 204 };
}

function membershipPair(r: Req): { member: IdentityView; container: IdentityView; group: GroupState } {
  const s = r.ctx.state;
  const member = subjectOr404(s, r.params.subject ?? '');
  const container = subjectOr404(s, r.params.container ?? '');
  if (!container.group)
    throw vssError(
      400,
      'GraphBadRequestException',
      `The container '${container.subjectDescriptor}' is not a group; memberships are {member}/{group}.`,
      'Graph',
    );
  return { member, container, group: container.group };
}

function addMembership(r: Req) {
  const s = r.ctx.state;
  const { member, container, group } = membershipPair(r);
  if (!member.active) {
    throw vssError(
      400,
      'GraphBadRequestException',
      `The subject '${member.subjectDescriptor}' (${member.displayName}) is not active in organization '${s.organization.name}'. Add it to the organization (member entitlements) before adding it to groups.`,
      'Graph',
    );
  }
  if (group.kind === 'collectionValidUsers' || group.kind === 'projectValidUsers') {
    throw vssError(
      400,
      'GraphBadRequestException',
      `'${container.principalName}' has implicit members; it cannot be changed.`,
      'Graph',
    );
  }
  if (sameId(member.id, group.id) || (member.group && allGroups(s, group.id).some((g) => sameId(g.id, member.id)))) {
    throw vssError(
      400,
      'GraphBadRequestException',
      `Adding '${member.principalName}' to '${container.principalName}' would create a membership cycle.`,
      'Graph',
    );
  }
  requireManageMembership(r, group);
  if (!group.members.some((m) => sameId(m, member.id))) group.members.push(member.id);
  return ok(membershipJson(r.ctx.urls, member, container), 201);
}

function checkMembership(r: Req) {
  const { member, group } = membershipPair(r);
  return { status: group.members.some((m) => sameId(m, member.id)) ? 200 : 404 };
}

function getMembership(r: Req) {
  const { member, container, group } = membershipPair(r);
  if (!group.members.some((m) => sameId(m, member.id))) {
    throw vssError(
      404,
      'GraphMembershipNotFoundException',
      `'${member.subjectDescriptor}' is not a direct member of '${container.subjectDescriptor}'.`,
      'Graph',
    );
  }
  return ok(membershipJson(r.ctx.urls, member, container));
}

function removeMembership(r: Req) {
  const { member, container, group } = membershipPair(r);
  requireManageMembership(r, group);
  if (!group.members.some((m) => sameId(m, member.id))) {
    throw vssError(
      404,
      'GraphMembershipNotFoundException',
      `'${member.subjectDescriptor}' is not a direct member of '${container.subjectDescriptor}'.`,
      'Graph',
    );
  }
  group.members = group.members.filter((m) => !sameId(m, member.id));
  return { status: 200 };
}

function listMemberships(r: Req) {
  const s = r.ctx.state;
  const subject = subjectOr404(s, r.params.subject ?? '');
  const direction = (query(r.req, 'direction') ?? 'up').toLowerCase();
  const out: Record<string, unknown>[] = [];
  if (direction === 'down') {
    for (const m of subject.group?.members ?? []) {
      const v = identityById(s, m);
      if (v) out.push(membershipJson(r.ctx.urls, v, subject));
    }
  } else {
    for (const g of directGroups(s, subject.id)) out.push(membershipJson(r.ctx.urls, subject, groupView(s, g)));
  }
  return ok(collection(out));
}

function membershipState(r: Req) {
  const v = subjectOr404(r.ctx.state, r.params.subject ?? '');
  return ok({
    active: v.active,
    _links: { self: { href: `${r.ctx.urls.vssps}/_apis/Graph/MembershipStates/${v.subjectDescriptor}` } },
  });
}

function subjectLookup(r: Req) {
  const s = r.ctx.state;
  const body = jsonBody(r.req, 'subject lookup');
  const keys = prop<unknown[]>(body, 'lookupKeys');
  if (!Array.isArray(keys)) throw vssError(400, 'ArgumentException', 'lookupKeys must be an array of {descriptor}.');
  const value: Record<string, unknown> = {};
  for (const k of keys) {
    const d = prop<string>(k, 'descriptor');
    const v = typeof d === 'string' ? identityBySubjectDescriptor(s, d) : undefined;
    if (v) value[v.subjectDescriptor] = graphSubject(r.ctx.urls, s, v);
  }
  return ok({ count: Object.keys(value).length, value }, 200, false);
}

const MEMBERSHIP_QUERY: Record<string, 'none' | 'direct' | 'expanded'> = {
  none: 'none',
  direct: 'direct',
  expanded: 'expanded',
  expandedup: 'expanded',
  expandeddown: 'direct',
};

function identities(r: Req) {
  const s = r.ctx.state;
  const qm = MEMBERSHIP_QUERY[(query(r.req, 'queryMembership') ?? 'none').toLowerCase()];
  if (!qm)
    throw vssError(
      400,
      'ArgumentException',
      `queryMembership '${query(r.req, 'queryMembership')}' is not one of None, Direct, Expanded, ExpandedUp, ExpandedDown.`,
    );
  const subjectDescriptors = queryList(r.req, 'subjectDescriptors');
  const descriptors = queryList(r.req, 'descriptors');
  const identityIds = queryList(r.req, 'identityIds');
  const searchFilter = query(r.req, 'searchFilter');
  const given = [subjectDescriptors.length, descriptors.length, identityIds.length, searchFilter ? 1 : 0].filter(
    (n) => n > 0,
  ).length;
  if (given !== 1) {
    throw vssError(
      400,
      'ArgumentException',
      'Give exactly one of descriptors, subjectDescriptors, identityIds or searchFilter+filterValue.',
      'WebApi',
    );
  }
  let found: (IdentityView | undefined)[];
  if (subjectDescriptors.length) found = subjectDescriptors.map((d) => identityBySubjectDescriptor(s, d));
  else if (descriptors.length) found = descriptors.map((d) => identityByLegacyDescriptor(s, d));
  else if (identityIds.length) found = identityIds.map((id) => identityById(s, id));
  else {
    const filter = (searchFilter ?? '').toLowerCase();
    const value = (query(r.req, 'filterValue') ?? '').toLowerCase();
    if (!value) throw vssError(400, 'ArgumentException', 'filterValue is required with searchFilter.', 'WebApi');
    found = allIdentities(s).filter((v) => {
      const p = v.principal;
      const keys =
        filter === 'accountname'
          ? [v.uniqueName, p?.principalName]
          : filter === 'displayname'
            ? [v.displayName]
            : filter === 'mailaddress'
              ? [p?.principalName]
              : [v.displayName, v.uniqueName, v.principalName, p?.originId, p?.applicationId, p?.principalName];
      return keys.some((k) => k !== undefined && k.toLowerCase() === value);
    });
  }
  // Unknown entries come back as null, aligned with the request (the IMS read contract).
  return ok(collection(found.map((v) => (v ? imsIdentity(s, v, qm) : null))));
}

export const graphRoutes: DevOpsRoute[] = [
  route('GET', '_apis/graph/descriptors/:storageKey', {}, descriptorOf),
  route('GET', '_apis/graph/storagekeys/:descriptor', {}, storageKeyOf),
  route('GET', '_apis/graph/groups', { preview: true }, listGroups),
  route('GET', '_apis/graph/groups/:descriptor', { preview: true }, getGroup),
  route('GET', '_apis/graph/serviceprincipals', { preview: true }, listKind(['servicePrincipal'])),
  route('POST', '_apis/graph/serviceprincipals', { preview: true }, createServicePrincipal),
  route('GET', '_apis/graph/serviceprincipals/:descriptor', { preview: true }, getKind(['servicePrincipal'])),
  route('DELETE', '_apis/graph/serviceprincipals/:descriptor', { preview: true }, deleteServicePrincipal),
  route('GET', '_apis/graph/users', { preview: true }, listKind(['user', 'build'])),
  route('GET', '_apis/graph/users/:descriptor', { preview: true }, getKind(['user', 'build'])),
  route('GET', '_apis/graph/memberships/:subject', { preview: true }, listMemberships),
  route('PUT', '_apis/graph/memberships/:subject/:container', { preview: true }, addMembership),
  route('HEAD', '_apis/graph/memberships/:subject/:container', { preview: true }, checkMembership),
  route('GET', '_apis/graph/memberships/:subject/:container', { preview: true }, getMembership),
  route('DELETE', '_apis/graph/memberships/:subject/:container', { preview: true }, removeMembership),
  route('GET', '_apis/graph/membershipstates/:subject', { preview: true }, membershipState),
  route('POST', '_apis/graph/subjectlookup', { preview: true }, subjectLookup),
  route('GET', '_apis/identities', {}, identities),
];
