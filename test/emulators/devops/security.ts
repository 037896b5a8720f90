/**
 * The security service: namespaces (the official list, Git Repositories among them), access control
 * lists with hierarchical tokens (`repoV2`, `repoV2/{projectId}`, `repoV2/{projectId}/{repoId}`),
 * ACE writes with merge semantics, and permission evaluation as Microsoft documents it
 * (permission-evaluation.ts, which cites the pages).
 */
import namespacesJson from './data/security-namespaces.json';
import { TF, vssError } from './errors';
import { collection, jsonBody, ok, prop, query, queryBool, queryList, route, isGuid } from './http';
import {
  identityByLegacyDescriptor,
  isCollectionAdmin,
  looksLikeSubjectDescriptor,
  securityDescriptors,
} from './identity';
import { evaluate, holds, type Evaluation } from './permission-evaluation';
import type { AceState, AclState, DevOpsState } from './model';
import { who, type DevOpsRoute, type Req } from './service';

export interface SecurityNamespace {
  namespaceId: string;
  name: string;
  displayName: string;
  separatorValue: string;
  elementLength: number;
  writePermission: number;
  readPermission: number;
  dataspaceCategory: string;
  actions: { bit: number; name: string; displayName: string; namespaceId: string }[];
  structureValue: number;
  extensionType: string | null;
  isRemotable: boolean;
  useTokenTranslator: boolean;
}

export const NAMESPACES = namespacesJson as SecurityNamespace[];

export const GIT_BITS = {
  administer: 1,
  read: 2,
  contribute: 4,
  forcePush: 8,
  createBranch: 16,
  createTag: 32,
  manageNote: 64,
  managePermissions: 8192,
  pullRequestContribute: 16384,
  all: 524287,
} as const;

export function namespaceById(id: string): SecurityNamespace | undefined {
  return NAMESPACES.find((n) => n.namespaceId.toLowerCase() === id.toLowerCase());
}

export function actionName(ns: SecurityNamespace, bit: number): string {
  return ns.actions.find((a) => a.bit === bit)?.name ?? String(bit);
}

/** The token and its ancestors, most specific first. */
export function tokenChain(ns: SecurityNamespace, token: string): string[] {
  const sep = ns.separatorValue;
  if (!sep || sep === '\u0000' || !token.includes(sep)) return [token];
  const parts = token.split(sep);
  const out: string[] = [];
  for (let i = parts.length; i >= 1; i--) out.push(parts.slice(0, i).join(sep));
  return out.filter(Boolean);
}

export function findAcl(state: DevOpsState, nsId: string, token: string): AclState | undefined {
  return state.acls.find(
    (a) => a.namespaceId.toLowerCase() === nsId.toLowerCase() && a.token.toLowerCase() === token.toLowerCase(),
  );
}

/** The identity and every group it is in (transitively, the implicit Valid Users groups too). */
function descriptorsOf(state: DevOpsState, descriptor: string): Set<string> {
  const identity = identityByLegacyDescriptor(state, descriptor);
  return identity ? securityDescriptors(state, identity.id) : new Set([descriptor.toLowerCase()]);
}

/** The documented evaluation (permission-evaluation.ts) of `token` for a set of descriptors. */
export function evaluateToken(
  state: DevOpsState,
  ns: SecurityNamespace,
  token: string,
  descriptors: Set<string>,
): Evaluation {
  return evaluate(tokenChain(ns, token), (t) => findAcl(state, ns.namespaceId, t), descriptors);
}

/** Does identity `id` hold every bit of `bits` on `token`? */
export function hasPermission(
  state: DevOpsState,
  id: string,
  nsId: string,
  token: string,
  bits: number,
  alwaysAllowAdministrators = false,
): boolean {
  const ns = namespaceById(nsId);
  if (!ns) return false;
  const evaluation = evaluateToken(state, ns, token, securityDescriptors(state, id));
  return holds(evaluation, bits, alwaysAllowAdministrators && isCollectionAdmin(state, id));
}

export function gitRepoToken(projectId: string, repoId: string): string {
  return `repoV2/${projectId}/${repoId}`;
}

function nsOf(r: Req): SecurityNamespace {
  const id = r.params.ns ?? '';
  const ns = namespaceById(id);
  if (!ns)
    throw vssError(
      404,
      'InvalidSecurityNamespaceIdException',
      `The security namespace '${id}' does not exist.`,
      'Security',
    );
  return ns;
}

/**
 * AceExtendedInformation for the entry's identity: effective and inherited bits "for this identity
 * on this token", its groups included (Security REST 7.1; see permission-evaluation.ts).
 */
function extendedInfo(state: DevOpsState, ns: SecurityNamespace, token: string, ace: AceState): Record<string, number> {
  const e = evaluateToken(state, ns, token, descriptorsOf(state, ace.descriptor));
  const out: Record<string, number> = {};
  if (e.effectiveAllow) out.effectiveAllow = e.effectiveAllow;
  if (e.effectiveDeny) out.effectiveDeny = e.effectiveDeny;
  if (e.inheritedAllow) out.inheritedAllow = e.inheritedAllow;
  if (e.inheritedDeny) out.inheritedDeny = e.inheritedDeny;
  return out;
}

function requireManage(r: Req, ns: SecurityNamespace, token: string): void {
  const caller = who(r);
  const state = r.ctx.state;
  if (isCollectionAdmin(state, caller.identity.id)) return;
  if (hasPermission(state, caller.identity.id, ns.namespaceId, token, ns.writePermission)) return;
  throw vssError(
    403,
    'AccessCheckException',
    TF.accessDenied(caller.identity.displayName, token, actionName(ns, ns.writePermission)),
    'Security',
  );
}

function aclJson(
  state: DevOpsState,
  ns: SecurityNamespace,
  acl: AclState,
  descriptors: Set<string> | undefined,
  withInfo: boolean,
): Record<string, unknown> {
  const aces: Record<string, unknown> = {};
  for (const ace of acl.aces) {
    if (descriptors && !descriptors.has(ace.descriptor.toLowerCase())) continue;
    const entry: Record<string, unknown> = { descriptor: ace.descriptor, allow: ace.allow, deny: ace.deny };
    if (withInfo) entry.extendedInfo = extendedInfo(state, ns, acl.token, ace);
    aces[ace.descriptor] = entry;
  }
  const out: Record<string, unknown> = {
    inheritPermissions: acl.inheritPermissions,
    token: acl.token,
    acesDictionary: aces,
  };
  if (withInfo) out.includeExtendedInfo = true;
  return out;
}

function getAcls(r: Req) {
  const ns = nsOf(r);
  const state = r.ctx.state;
  const token = query(r.req, 'token');
  const descriptorList = queryList(r.req, 'descriptors');
  const descriptors = descriptorList.length ? new Set(descriptorList.map((d) => d.toLowerCase())) : undefined;
  const withInfo = queryBool(r.req, 'includeExtendedInfo') ?? false;
  const recurse = queryBool(r.req, 'recurse') ?? false;
  const sep = ns.separatorValue;
  let acls = state.acls.filter((a) => a.namespaceId.toLowerCase() === ns.namespaceId.toLowerCase());
  if (token !== undefined) {
    const t = token.toLowerCase();
    acls = acls.filter((a) => a.token.toLowerCase() === t || (recurse && a.token.toLowerCase().startsWith(t + sep)));
  }
  const value: Record<string, unknown>[] = [];
  for (const acl of acls) {
    const json = aclJson(state, ns, acl, descriptors, withInfo);
    if (descriptors && Object.keys(json.acesDictionary as object).length === 0) continue;
    value.push(json);
  }
  // Asked for specific identities on a token with extended info: show what they inherit even
  // without an explicit entry there (how a caller reads another identity's effective rights).
  if (token !== undefined && descriptors && withInfo) {
    let own = value.find((v) => String(v.token).toLowerCase() === token.toLowerCase());
    for (const d of descriptorList) {
      const have = own && Object.keys(own.acesDictionary as object).some((k) => k.toLowerCase() === d.toLowerCase());
      if (have) continue;
      const info = extendedInfo(state, ns, token, { descriptor: d, allow: 0, deny: 0 });
      if (Object.keys(info).length === 0) continue;
      if (!own) {
        own = {
          inheritPermissions: findAcl(state, ns.namespaceId, token)?.inheritPermissions ?? true,
          token,
          acesDictionary: {},
          includeExtendedInfo: true,
        };
        value.unshift(own);
      }
      (own.acesDictionary as Record<string, unknown>)[d] = { descriptor: d, allow: 0, deny: 0, extendedInfo: info };
    }
  }
  return ok(collection(value));
}

interface AceInput {
  descriptor: string;
  allow: number;
  deny: number;
}

function aceInputs(raw: unknown, where: string): AceInput[] {
  if (!Array.isArray(raw))
    throw vssError(400, 'ArgumentException', `${where} must be an array of {descriptor, allow, deny}.`);
  return raw.map((e, i) => {
    const descriptor = prop<string>(e, 'descriptor');
    const allow = prop<number>(e, 'allow') ?? 0;
    const deny = prop<number>(e, 'deny') ?? 0;
    if (typeof descriptor !== 'string' || !descriptor.trim())
      throw vssError(
        400,
        'ArgumentException',
        `${where}[${i}].descriptor is missing: give the identity descriptor of the user or group.`,
      );
    if (looksLikeSubjectDescriptor(descriptor)) {
      throw vssError(
        400,
        'InvalidIdentityDescriptorException',
        `${where}[${i}].descriptor '${descriptor}' is a Graph subject descriptor; access control entries take identity descriptors (such as Microsoft.TeamFoundation.Identity;S-1-9-…), read it from _apis/identities?subjectDescriptors=…`,
        'Security',
      );
    }
    for (const [name, v] of [
      ['allow', allow],
      ['deny', deny],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw vssError(
          400,
          'ArgumentException',
          `${where}[${i}].${name} must be a non-negative integer bit mask, got ${JSON.stringify(v)}.`,
        );
    }
    return { descriptor: descriptor.trim(), allow, deny };
  });
}

function postAces(r: Req) {
  const ns = nsOf(r);
  const state = r.ctx.state;
  const body = jsonBody(r.req, 'access control entries');
  const token = prop<string>(body, 'token');
  if (typeof token !== 'string' || !token)
    throw vssError(
      400,
      'ArgumentNullException',
      'Value cannot be null. Parameter name: token. Give the security token (for Git: repoV2/{projectId}/{repositoryId}).',
    );
  const merge = prop<boolean>(body, 'merge') === true;
  const entries = aceInputs(prop(body, 'accessControlEntries'), 'accessControlEntries');
  requireManage(r, ns, token);
  let acl = findAcl(state, ns.namespaceId, token);
  if (!acl) {
    acl = { namespaceId: ns.namespaceId, token, inheritPermissions: true, aces: [] };
    state.acls.push(acl);
  }
  const out: Record<string, unknown>[] = [];
  for (const e of entries) {
    const existing = acl.aces.find((a) => a.descriptor.toLowerCase() === e.descriptor.toLowerCase());
    let next: AceState;
    if (merge && existing) {
      next = {
        descriptor: existing.descriptor,
        allow: (existing.allow & ~e.deny) | e.allow,
        deny: (existing.deny & ~e.allow) | e.deny,
      };
    } else next = { descriptor: e.descriptor, allow: e.allow, deny: e.deny };
    if (existing) Object.assign(existing, next);
    else acl.aces.push(next);
    out.push({ descriptor: next.descriptor, allow: next.allow, deny: next.deny, extendedInfo: {} });
  }
  return ok(collection(out));
}

function deleteAces(r: Req) {
  const ns = nsOf(r);
  const token = query(r.req, 'token');
  if (!token) throw vssError(400, 'ArgumentNullException', 'Value cannot be null. Parameter name: token.');
  const descriptors = new Set(queryList(r.req, 'descriptors').map((d) => d.toLowerCase()));
  requireManage(r, ns, token);
  const acl = findAcl(r.ctx.state, ns.namespaceId, token);
  if (!acl) return ok(false);
  const before = acl.aces.length;
  acl.aces = acl.aces.filter((a) => !descriptors.has(a.descriptor.toLowerCase()));
  return ok(acl.aces.length !== before);
}

function postAcls(r: Req) {
  const ns = nsOf(r);
  const state = r.ctx.state;
  const body = jsonBody(r.req, 'access control lists');
  const list = prop<unknown[]>(body, 'value');
  if (!Array.isArray(list))
    throw vssError(
      400,
      'ArgumentException',
      'The body must be {"count":n,"value":[{token, inheritPermissions, acesDictionary}]}.',
    );
  for (const [i, raw] of list.entries()) {
    const token = prop<string>(raw, 'token');
    if (typeof token !== 'string' || !token) throw vssError(400, 'ArgumentException', `value[${i}].token is missing.`);
    requireManage(r, ns, token);
    const dict = prop<Record<string, unknown>>(raw, 'acesDictionary') ?? {};
    const aces = aceInputs(Object.values(dict), `value[${i}].acesDictionary`);
    const existing = findAcl(state, ns.namespaceId, token);
    const next: AclState = {
      namespaceId: ns.namespaceId,
      token,
      inheritPermissions: prop<boolean>(raw, 'inheritPermissions') !== false,
      aces,
    };
    if (existing) Object.assign(existing, next);
    else state.acls.push(next);
  }
  return { status: 204 };
}

function deleteAcls(r: Req) {
  const ns = nsOf(r);
  const state = r.ctx.state;
  const tokens = queryList(r.req, 'tokens').map((t) => t.toLowerCase());
  const recurse = queryBool(r.req, 'recurse') ?? false;
  for (const t of tokens) requireManage(r, ns, t);
  const before = state.acls.length;
  state.acls = state.acls.filter((a) => {
    if (a.namespaceId.toLowerCase() !== ns.namespaceId.toLowerCase()) return true;
    const tok = a.token.toLowerCase();
    return !tokens.some((t) => tok === t || (recurse && tok.startsWith(t + ns.separatorValue)));
  });
  return ok(state.acls.length !== before);
}

function getNamespaces(r: Req) {
  const id = r.params.ns;
  if (!id || id === '00000000-0000-0000-0000-000000000000') return ok(collection(NAMESPACES));
  if (!isGuid(id)) throw vssError(400, 'ArgumentException', `'${id}' is not a security namespace id (a GUID).`);
  const ns = namespaceById(id);
  return ok(collection(ns ? [ns] : []));
}

function hasPermissions(r: Req) {
  const ns = nsOf(r);
  const bits = Number(r.params.permissions);
  if (!Number.isInteger(bits) || bits <= 0)
    throw vssError(400, 'ArgumentException', `'${r.params.permissions}' is not a permission bit mask.`);
  const delimiter = query(r.req, 'delimiter') ?? ',';
  const tokens = (query(r.req, 'tokens') ?? '').split(delimiter).filter((t) => t !== '');
  const always = queryBool(r.req, 'alwaysAllowAdministrators') ?? false;
  const id = who(r).identity.id;
  return ok(
    collection(
      (tokens.length ? tokens : ['']).map((t) => hasPermission(r.ctx.state, id, ns.namespaceId, t, bits, always)),
    ),
  );
}

function evaluationBatch(r: Req) {
  const body = jsonBody(r.req, 'permission evaluation batch');
  const always = prop<boolean>(body, 'alwaysAllowAdministrators') === true;
  const evaluations = prop<unknown[]>(body, 'evaluations');
  if (!Array.isArray(evaluations))
    throw vssError(
      400,
      'ArgumentException',
      'evaluations must be an array of {securityNamespaceId, token, permissions}.',
    );
  const id = who(r).identity.id;
  const out = evaluations.map((e, i) => {
    const nsId = prop<string>(e, 'securityNamespaceId');
    const token = prop<string>(e, 'token') ?? '';
    const permissions = prop<number>(e, 'permissions');
    if (typeof nsId !== 'string' || !namespaceById(nsId))
      throw vssError(
        400,
        'InvalidSecurityNamespaceIdException',
        `evaluations[${i}].securityNamespaceId '${String(nsId)}' is not a security namespace.`,
        'Security',
      );
    if (typeof permissions !== 'number')
      throw vssError(400, 'ArgumentException', `evaluations[${i}].permissions must be a bit mask.`);
    return {
      securityNamespaceId: nsId,
      token,
      permissions,
      value: hasPermission(r.ctx.state, id, nsId, token, permissions, always),
    };
  });
  return ok({ evaluations: out }, 200, false);
}

export const securityRoutes: DevOpsRoute[] = [
  route('GET', '_apis/securitynamespaces', {}, getNamespaces),
  route('GET', '_apis/securitynamespaces/:ns', {}, getNamespaces),
  route('GET', '_apis/accesscontrollists/:ns', {}, getAcls),
  route('POST', '_apis/accesscontrollists/:ns', {}, postAcls),
  route('DELETE', '_apis/accesscontrollists/:ns', {}, deleteAcls),
  route('POST', '_apis/accesscontrolentries/:ns', {}, postAces),
  route('DELETE', '_apis/accesscontrolentries/:ns', {}, deleteAces),
  route('GET', '_apis/permissions/:ns/:permissions', {}, hasPermissions),
  route('POST', '_apis/security/permissionevaluationbatch', {}, evaluationBatch),
];
