/**
 * Identities of the organization as Azure DevOps names them: storage keys, subject descriptors
 * (Graph: `aadsp.`, `aad.`, `svc.`, `vssgp.` + base64 of the key or SID) and legacy identity
 * descriptors (IMS and the security service: `Microsoft.TeamFoundation.Identity;S-1-9-…`), plus
 * group membership with the implicit "valid users" groups. Pure functions over the state.
 */
import * as crypto from 'node:crypto';
import type { DevOpsState, GroupState, PrincipalState, ProjectState } from './model';

export type IdentityKind = 'servicePrincipal' | 'user' | 'build' | 'group';

export interface IdentityView {
  id: string;
  kind: IdentityKind;
  displayName: string;
  subjectDescriptor: string;
  legacyDescriptor: string;
  /** `uniqueName` of identity refs. */
  uniqueName: string;
  /** Graph `principalName` (groups: `[scope]\name`). */
  principalName: string;
  /** Graph `domain`. */
  domain: string;
  /** In the organization (has an entitlement; groups and build identities always). */
  active: boolean;
  principal?: PrincipalState;
  group?: GroupState;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** Decodes `<prefix>.<base64>`; undefined when the string is not a subject descriptor. */
export function parseSubjectDescriptor(d: string): { prefix: string; value: string } | undefined {
  const m = /^([a-z]{2,8})\.([A-Za-z0-9_-]+={0,2})$/.exec(d.trim());
  if (!m) return undefined;
  const value = Buffer.from(m[2]!.replace(/=+$/, ''), 'base64url').toString('utf8');
  return value ? { prefix: m[1]!, value } : undefined;
}

/** True for strings shaped like a subject descriptor (what the security API does not take). */
export function looksLikeSubjectDescriptor(d: string): boolean {
  return !d.includes(';') && parseSubjectDescriptor(d) !== undefined;
}

/**
 * A deterministic group SID in the shape Azure DevOps uses (`S-1-9-1551374245-` + scope parts +
 * `-1-` + group parts), derived from the scope and group ids so state files stay stable.
 */
export function groupSid(scopeId: string, groupId: string): string {
  const part = (s: string): string => {
    const h = crypto.createHash('sha256').update(s.toLowerCase()).digest();
    return [0, 4, 8, 12].map((o) => h.readUInt32BE(o)).join('-');
  };
  return `S-1-9-1551374245-${part(scopeId)}-1-${part(groupId)}`;
}

function projectOf(state: DevOpsState, id: string | undefined): ProjectState | undefined {
  return id ? state.projects.find((p) => sameId(p.id, id)) : undefined;
}

export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

export function principalView(state: DevOpsState, p: PrincipalState): IdentityView {
  const org = state.organization;
  if (p.kind === 'build') {
    const scope = `${org.id}:Build:${p.projectId ?? ''}`;
    return {
      id: p.id,
      kind: 'build',
      displayName: p.displayName,
      principal: p,
      active: true,
      subjectDescriptor: `svc.${b64(scope)}`,
      legacyDescriptor: `Microsoft.TeamFoundation.ServiceIdentity;${scope}`,
      uniqueName: `Build\\${p.projectId ?? ''}`,
      principalName: p.id,
      domain: 'Build',
    };
  }
  if (p.kind === 'user') {
    const upn = p.principalName ?? p.originId ?? p.id;
    return {
      id: p.id,
      kind: 'user',
      displayName: p.displayName,
      principal: p,
      active: p.license !== undefined,
      subjectDescriptor: `aad.${b64(p.id)}`,
      legacyDescriptor: `Microsoft.IdentityModel.Claims.ClaimsIdentity;${org.tenantId}\\${upn}`,
      uniqueName: upn,
      principalName: upn,
      domain: org.tenantId,
    };
  }
  return {
    id: p.id,
    kind: 'servicePrincipal',
    displayName: p.displayName,
    principal: p,
    active: p.license !== undefined,
    subjectDescriptor: `aadsp.${b64(p.id)}`,
    legacyDescriptor: `Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${org.tenantId}\\${p.originId ?? ''}`,
    uniqueName: `${p.applicationId ?? p.originId ?? p.id}@${org.tenantId}`,
    principalName: p.applicationId ?? p.originId ?? p.id,
    domain: org.tenantId,
  };
}

export function groupView(state: DevOpsState, g: GroupState): IdentityView {
  const project = projectOf(state, g.projectId);
  const scopeName = project ? project.name : state.organization.name;
  return {
    id: g.id,
    kind: 'group',
    displayName: g.displayName,
    group: g,
    active: true,
    subjectDescriptor: `vssgp.${b64(g.sid)}`,
    legacyDescriptor: `Microsoft.TeamFoundation.Identity;${g.sid}`,
    uniqueName: project
      ? `vstfs:///Classification/TeamProject/${project.id}\\${g.displayName}`
      : `[${scopeName}]\\${g.displayName}`,
    principalName: `[${scopeName}]\\${g.displayName}`,
    domain: project
      ? `vstfs:///Classification/TeamProject/${project.id}`
      : `vstfs:///Framework/IdentityDomain/${state.organization.id}`,
  };
}

export function allIdentities(state: DevOpsState): IdentityView[] {
  return [...state.principals.map((p) => principalView(state, p)), ...state.groups.map((g) => groupView(state, g))];
}

export function identityById(state: DevOpsState, id: string): IdentityView | undefined {
  const p = state.principals.find((x) => sameId(x.id, id));
  if (p) return principalView(state, p);
  const g = state.groups.find((x) => sameId(x.id, id));
  return g ? groupView(state, g) : undefined;
}

export function identityBySubjectDescriptor(state: DevOpsState, descriptor: string): IdentityView | undefined {
  const d = descriptor.trim();
  return allIdentities(state).find((i) => i.subjectDescriptor === d);
}

export function identityByLegacyDescriptor(state: DevOpsState, descriptor: string): IdentityView | undefined {
  const d = descriptor.trim().toLowerCase();
  return allIdentities(state).find((i) => i.legacyDescriptor.toLowerCase() === d);
}

/** The Entra principal with this object id, if it was ever materialized in the organization. */
export function principalByOrigin(state: DevOpsState, originId: string): PrincipalState | undefined {
  return state.principals.find((p) => p.kind !== 'build' && sameId(p.originId, originId));
}

export function groupsOfKind(state: DevOpsState, kind: GroupState['kind'], projectId?: string): GroupState[] {
  return state.groups.filter((g) => g.kind === kind && (projectId === undefined || sameId(g.projectId, projectId)));
}

/** Direct containers of an identity. */
export function directGroups(state: DevOpsState, id: string): GroupState[] {
  return state.groups.filter((g) => g.members.some((m) => sameId(m, id)));
}

/**
 * Every group an identity belongs to, transitively, including the implicit ones: Project
 * Collection Valid Users (every active identity) and a project's Valid Users (every identity in
 * one of the project's groups).
 */
export function allGroups(state: DevOpsState, id: string): GroupState[] {
  const seen = new Map<string, GroupState>();
  const queue = [id];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    for (const g of directGroups(state, cur)) {
      if (!seen.has(g.id.toLowerCase())) {
        seen.set(g.id.toLowerCase(), g);
        queue.push(g.id);
      }
    }
  }
  const self = identityById(state, id);
  if (self?.active) {
    for (const g of groupsOfKind(state, 'collectionValidUsers')) seen.set(g.id.toLowerCase(), g);
    const projects = new Set([...seen.values()].map((g) => g.projectId?.toLowerCase()).filter((x): x is string => !!x));
    if (self.principal?.kind === 'build' && self.principal.projectId)
      projects.add(self.principal.projectId.toLowerCase());
    for (const g of state.groups) {
      if (g.kind === 'projectValidUsers' && g.projectId && projects.has(g.projectId.toLowerCase()))
        seen.set(g.id.toLowerCase(), g);
    }
  }
  return [...seen.values()];
}

export function isMemberOf(state: DevOpsState, id: string, groupId: string): boolean {
  return allGroups(state, id).some((g) => sameId(g.id, groupId));
}

export function isCollectionAdmin(state: DevOpsState, id: string): boolean {
  return allGroups(state, id).some((g) => g.kind === 'collectionAdministrators');
}

export function isProjectAdmin(state: DevOpsState, id: string, projectId: string): boolean {
  return (
    isCollectionAdmin(state, id) ||
    allGroups(state, id).some((g) => g.kind === 'projectAdministrators' && sameId(g.projectId, projectId))
  );
}

/** The legacy descriptors ACEs are evaluated against for an identity: its own and its groups'. */
export function securityDescriptors(state: DevOpsState, id: string): Set<string> {
  const out = new Set<string>();
  const self = identityById(state, id);
  if (self) out.add(self.legacyDescriptor.toLowerCase());
  for (const g of allGroups(state, id)) out.add(groupView(state, g).legacyDescriptor.toLowerCase());
  return out;
}
