/**
 * JSON shapes of identities as the different Azure DevOps APIs show them: identity refs (Core, Git),
 * Graph subjects (vssps Graph), IMS identities (legacy descriptors) and project refs.
 */
import type { CloudUrls } from '../core/context';
import { allGroups, directGroups, groupView, identityById, type IdentityView } from './identity';
import type { DevOpsState, ProjectState } from './model';

export interface OrgUrls {
  org: string;
  /** `https://127.0.0.1:P/{org}` of each host (no trailing slash). */
  devops: string;
  vssps: string;
  vsaex: string;
}

/**
 * How a URL names the organization: `emulator` https://127.0.0.1:PORT/{org}; `new`
 * https://dev.azure.com/{org} (Graph on vssps.dev.azure.com/{org}, entitlements on
 * vsaex.dev.azure.com/{org}); `legacy` https://{org}.visualstudio.com (Graph on
 * {org}.vssps.visualstudio.com, entitlements on {org}.vsaex.visualstudio.com). Azure DevOps
 * release notes 2018-09-10 (Administration); learn.microsoft.com/azure/devops/extend/develop/work-with-urls.
 */
export type UrlForm = 'emulator' | 'new' | 'legacy';

export function orgUrls(urls: CloudUrls, org: string, form: UrlForm = 'emulator'): OrgUrls {
  if (form === 'legacy') {
    const name = org.toLowerCase();
    return {
      org,
      devops: `https://${name}.visualstudio.com`,
      vssps: `https://${name}.vssps.visualstudio.com`,
      vsaex: `https://${name}.vsaex.visualstudio.com`,
    };
  }
  if (form === 'new')
    return {
      org,
      devops: `https://dev.azure.com/${org}`,
      vssps: `https://vssps.dev.azure.com/${org}`,
      vsaex: `https://vsaex.dev.azure.com/${org}`,
    };
  return { org, devops: `${urls.devops}/${org}`, vssps: `${urls.vssps}/${org}`, vsaex: `${urls.vsaex}/${org}` };
}

export function identityRef(u: OrgUrls, v: IdentityView): Record<string, unknown> {
  const ref: Record<string, unknown> = {
    displayName: v.kind === 'group' ? v.principalName : v.displayName,
    url: `${u.vssps}/_apis/Identities/${v.id}`,
    _links: { avatar: { href: `${u.devops}/_apis/GraphProfile/MemberAvatars/${v.subjectDescriptor}` } },
    id: v.id,
    uniqueName: v.uniqueName,
    imageUrl: `${u.devops}/_api/_common/identityImage?id=${v.id}`,
    descriptor: v.subjectDescriptor,
  };
  if (v.kind === 'group') ref.isContainer = true;
  return ref;
}

export function identityRefById(u: OrgUrls, state: DevOpsState, id: string): Record<string, unknown> {
  const v = identityById(state, id);
  return v ? identityRef(u, v) : { id, displayName: id, uniqueName: id, url: `${u.vssps}/_apis/Identities/${id}` };
}

function graphLinks(u: OrgUrls, kindPath: string, d: string, avatar: boolean): Record<string, { href: string }> {
  const links: Record<string, { href: string }> = {
    self: { href: `${u.vssps}/_apis/Graph/${kindPath}/${d}` },
    memberships: { href: `${u.vssps}/_apis/Graph/Memberships/${d}` },
    membershipState: { href: `${u.vssps}/_apis/Graph/MembershipStates/${d}` },
    storageKey: { href: `${u.vssps}/_apis/Graph/StorageKeys/${d}` },
  };
  if (avatar) links.avatar = { href: `${u.devops}/_apis/GraphProfile/MemberAvatars/${d}` };
  return links;
}

/** A Graph subject (GraphServicePrincipal, GraphUser, GraphGroup). */
export function graphSubject(u: OrgUrls, state: DevOpsState, v: IdentityView): Record<string, unknown> {
  const d = v.subjectDescriptor;
  if (v.kind === 'group') {
    return {
      subjectKind: 'group',
      description: v.group?.description ?? '',
      domain: v.domain,
      principalName: v.principalName,
      mailAddress: null,
      origin: 'vsts',
      originId: v.id,
      displayName: v.displayName,
      _links: graphLinks(u, 'Groups', d, false),
      url: `${u.vssps}/_apis/Graph/Groups/${d}`,
      descriptor: d,
    };
  }
  const p = v.principal!;
  if (v.kind === 'servicePrincipal') {
    return {
      subjectKind: 'servicePrincipal',
      applicationId: p.applicationId ?? null,
      metaType: 'application',
      directoryAlias: p.originId ?? null,
      domain: state.organization.tenantId,
      principalName: p.originId ?? null,
      mailAddress: null,
      origin: 'aad',
      originId: p.originId ?? null,
      displayName: p.displayName,
      _links: graphLinks(u, 'ServicePrincipals', d, true),
      url: `${u.vssps}/_apis/Graph/ServicePrincipals/${d}`,
      descriptor: d,
    };
  }
  if (v.kind === 'user') {
    return {
      subjectKind: 'user',
      metaType: 'member',
      directoryAlias: p.principalName?.split('@')[0] ?? null,
      domain: state.organization.tenantId,
      principalName: p.principalName ?? null,
      mailAddress: p.principalName ?? null,
      origin: 'aad',
      originId: p.originId ?? null,
      displayName: p.displayName,
      _links: graphLinks(u, 'Users', d, true),
      url: `${u.vssps}/_apis/Graph/Users/${d}`,
      descriptor: d,
    };
  }
  return {
    subjectKind: 'user',
    metaType: 'serviceIdentity',
    domain: 'Build',
    principalName: p.id,
    mailAddress: null,
    origin: 'vsts',
    originId: p.id,
    displayName: p.displayName,
    _links: graphLinks(u, 'Users', d, true),
    url: `${u.vssps}/_apis/Graph/Users/${d}`,
    descriptor: d,
  };
}

const str = (v: string): { $type: string; $value: string } => ({ $type: 'System.String', $value: v });

/** An IMS identity (`_apis/identities`), with legacy descriptors in members/memberOf. */
export function imsIdentity(
  state: DevOpsState,
  v: IdentityView,
  queryMembership: 'none' | 'direct' | 'expanded',
): Record<string, unknown> {
  const memberOf =
    queryMembership === 'none'
      ? []
      : (queryMembership === 'direct' ? directGroups(state, v.id) : allGroups(state, v.id)).map(
          (g) => groupView(state, g).legacyDescriptor,
        );
  const members =
    queryMembership === 'none' || !v.group
      ? []
      : v.group.members.map((m) => identityById(state, m)?.legacyDescriptor).filter((x): x is string => !!x);
  const memberIds = queryMembership === 'none' || !v.group ? [] : v.group.members;
  const base = {
    id: v.id,
    descriptor: v.legacyDescriptor,
    subjectDescriptor: v.subjectDescriptor,
    providerDisplayName: v.kind === 'group' ? v.principalName : v.displayName,
    isActive: v.active,
  };
  if (v.kind === 'group') {
    return {
      ...base,
      isContainer: true,
      members,
      memberOf,
      memberIds,
      properties: {
        SchemaClassName: str('Group'),
        Description: str(v.group?.description ?? ''),
        Domain: str(v.domain),
        Account: str(v.displayName),
        SecurityGroup: str('SecurityGroup'),
        SpecialType: str(v.group?.kind === 'collectionValidUsers' ? 'EveryoneApplicationGroup' : 'Generic'),
        ScopeId: { $type: 'System.Guid', $value: v.group?.projectId ?? state.organization.id },
        ScopeType: str(v.group?.projectId ? 'TeamProject' : 'ServiceHost'),
        LocalScopeId: { $type: 'System.Guid', $value: v.group?.projectId ?? state.organization.id },
        SecuringHostId: { $type: 'System.Guid', $value: state.organization.id },
        ScopeName: str(v.principalName.replace(/^\[([^\]]*)\].*$/, '$1')),
        VirtualPlugin: str(''),
      },
      resourceVersion: 2,
      metaTypeId: 255,
    };
  }
  const p = v.principal!;
  const props: Record<string, unknown> = {
    SchemaClassName: str(v.kind === 'build' ? 'User' : 'User'),
    Description: str(''),
    Domain: str(v.domain),
    Account: str(v.kind === 'servicePrincipal' ? (p.applicationId ?? p.originId ?? v.id) : v.uniqueName),
    DN: str(''),
    Mail: str(v.kind === 'user' ? v.uniqueName : ''),
    SpecialType: str('Generic'),
    DirectoryAlias: str(v.kind === 'user' ? (p.principalName?.split('@')[0] ?? '') : ''),
  };
  if (p.originId) props['http://schemas.microsoft.com/identity/claims/objectidentifier'] = str(p.originId);
  return {
    ...base,
    members,
    memberOf,
    memberIds,
    properties: props,
    resourceVersion: 2,
    metaTypeId: v.kind === 'servicePrincipal' ? 4 : 0,
  };
}

export function projectRef(u: OrgUrls, p: ProjectState, full = false): Record<string, unknown> {
  const ref: Record<string, unknown> = {
    id: p.id,
    name: p.name,
    description: p.description ?? '',
    url: `${u.devops}/_apis/projects/${p.id}`,
    state: 'wellFormed',
    revision: 11,
    visibility: p.visibility ?? 'private',
    lastUpdateTime: '2025-01-06T09:00:00.000Z',
  };
  if (full) {
    ref._links = {
      self: { href: `${u.devops}/_apis/projects/${p.id}` },
      collection: { href: `${u.devops}/_apis/projectCollections/${p.id}` },
      web: { href: `${u.devops}/${encodeURIComponent(p.name)}` },
    };
    ref.defaultTeam = {
      id: p.defaultTeamId,
      name: `${p.name} Team`,
      url: `${u.devops}/_apis/projects/${p.id}/teams/${p.defaultTeamId}`,
    };
  }
  return ref;
}
