/**
 * Azure DevOps reads Verify needs that tasks/common/devops/ does not have (that module serves
 * Provision's writes): the organization's tenant, the identity's groups (Graph memberships,
 * upwards), identities by subject descriptor, whole ACLs along a token chain, and the calls made
 * with the managed identity's own token (refs read, permission evaluation) where the raw status
 * and VSS message matter more than an SDK's null-on-404.
 */
import { WebApi, getBearerHandler } from 'azure-devops-node-api';
import type { IRequestHandler } from 'azure-devops-node-api/interfaces/common/VsoBaseInterfaces';
import { apiUrl, type DevOpsConnection } from '../devops/connection';
import { describeDevOpsError } from '../devops/errors';
import type { AclFacts } from './permissions';

const GRAPH_VERSION = '7.1-preview.1';

/** No authentication at all (the tenant probe must be anonymous). */
const anonymous: IRequestHandler = {
  prepareRequest() { /* no credentials */ },
  canHandleAuthentication() { return false; },
  handleAuthentication() { return Promise.reject(new Error('anonymous')); },
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP call through the node-api's HTTP client (proxy and keep-alive as the SDK does). */
export async function rawCall(orgUrl: string, token: string | undefined, method: 'GET' | 'POST', url: string, body?: unknown): Promise<RawResponse> {
  const web = new WebApi(orgUrl, token ? getBearerHandler(token) : anonymous);
  const client = web.rest.client;
  const headers = { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  const res = method === 'GET' ? await client.get(url, headers) : await client.post(url, JSON.stringify(body ?? {}), headers);
  const text = await res.readBody();
  return { status: res.message.statusCode ?? 0, headers: res.message.headers, body: text };
}

/** The VSS error message of a response body (`{"message":"TF401444: …"}`), else the body start. */
export function vssMessage(r: RawResponse): string {
  try {
    const j = JSON.parse(r.body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return r.body.slice(0, 300) || `HTTP ${r.status}`;
}

/**
 * The tenant an organization is connected to: Azure DevOps names it in the `X-VSS-ResourceTenant`
 * header of its answer to an anonymous request that needs authentication (connectionData may be
 * answered anonymously, the project list is not unless the organization has public projects).
 * Undefined when no answer carries the header.
 */
export async function organizationTenant(orgUrl: string): Promise<string | undefined> {
  for (const p of ['_apis/connectionData', '_apis/projects']) {
    const r = await rawCall(orgUrl, undefined, 'GET', apiUrl(orgUrl, p, p === '_apis/projects' ? { '$top': 1, 'api-version': '7.1' } : {}));
    const h = r.headers['x-vss-resourcetenant'];
    const v = Array.isArray(h) ? h[0] : h;
    if (v && /^[0-9a-f-]{36}$/i.test(v) && !/^0{8}-/.test(v)) return v.toLowerCase();
  }
  return undefined;
}

/** Subject descriptors of the groups `subject` is a direct member of. */
export async function groupsOf(c: DevOpsConnection, subject: string): Promise<string[]> {
  const url = apiUrl(c.areas.graph, `_apis/graph/Memberships/${encodeURIComponent(subject)}`, { direction: 'up', 'api-version': GRAPH_VERSION });
  try {
    const res = await c.rest('graph').get<{ value?: { containerDescriptor?: string }[] } | { containerDescriptor?: string }[]>(url);
    const list = Array.isArray(res.result) ? res.result : res.result?.value ?? [];
    return list.map((m) => m.containerDescriptor).filter((d): d is string => !!d);
  } catch (err) {
    throw describeDevOpsError(err, { action: `read the group memberships of ${subject}` });
  }
}

/** Every group `subject` belongs to, directly or through other groups (bounded walk). */
export async function allGroupsOf(c: DevOpsConnection, subject: string, limit = 50): Promise<string[]> {
  const seen = new Set<string>();
  let frontier = [subject];
  while (frontier.length > 0 && seen.size < limit) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const g of await groupsOf(c, s)) {
        if (!seen.has(g)) {
          seen.add(g);
          next.push(g);
        }
      }
    }
    frontier = next;
  }
  return [...seen];
}

export interface SubjectIdentity { subjectDescriptor: string; descriptor: string; displayName?: string }

/** Legacy descriptors (what ACEs use) of Graph subject descriptors. */
export async function identitiesBySubjects(c: DevOpsConnection, subjects: string[]): Promise<SubjectIdentity[]> {
  if (subjects.length === 0) return [];
  const url = apiUrl(c.areas.identities, '_apis/identities', { subjectDescriptors: subjects.join(','), queryMembership: 'None', 'api-version': '7.1' });
  type Ims = { descriptor?: string | { identityType?: string; identifier?: string }; subjectDescriptor?: string; providerDisplayName?: string; customDisplayName?: string };
  try {
    const res = await c.rest('identities').get<{ value?: (Ims | null)[] } | (Ims | null)[]>(url);
    const list = Array.isArray(res.result) ? res.result : res.result?.value ?? [];
    return list.filter((i): i is Ims => !!i && !!i.subjectDescriptor).map((i) => ({
      subjectDescriptor: i.subjectDescriptor!,
      descriptor: typeof i.descriptor === 'string' ? i.descriptor : i.descriptor ? `${i.descriptor.identityType};${i.descriptor.identifier}` : '',
      ...(i.customDisplayName ?? i.providerDisplayName ? { displayName: i.customDisplayName ?? i.providerDisplayName } : {}),
    }));
  } catch (err) {
    throw describeDevOpsError(err, { action: 'read identities by subject descriptor' });
  }
}

/** All ACEs of each token (no descriptor filter), with their inheritance flag. */
export async function readAcls(c: DevOpsConnection, namespaceId: string, tokens: string[]): Promise<AclFacts[]> {
  const out: AclFacts[] = [];
  for (const token of tokens) {
    const url = apiUrl(c.areas.core, `_apis/accesscontrollists/${namespaceId}`, { token, includeExtendedInfo: false, recurse: false, 'api-version': '7.1' });
    type Acl = { token?: string; inheritPermissions?: boolean; acesDictionary?: Record<string, { descriptor?: string; allow?: number; deny?: number }> };
    try {
      const res = await c.rest('core').get<{ value?: Acl[] } | Acl[]>(url);
      const lists = Array.isArray(res.result) ? res.result : res.result?.value ?? [];
      for (const acl of lists) {
        if (acl.token !== undefined && acl.token.toLowerCase() !== token.toLowerCase()) continue;
        out.push({
          token, inheritPermissions: acl.inheritPermissions !== false,
          aces: Object.entries(acl.acesDictionary ?? {}).map(([k, a]) => ({ descriptor: a.descriptor ?? k, allow: a.allow ?? 0, deny: a.deny ?? 0 })),
        });
      }
    } catch (err) {
      throw describeDevOpsError(err, { action: `read the permissions on ${token}` });
    }
  }
  return out;
}

export type RepoReadResult =
  | { ok: true; repo: { id: string; projectId: string }; refs: { name: string; objectId: string }[] }
  | { ok: false; status: number; error: string };

/** Reads the repository and its branch refs with a bearer token, as a client of the identity would. */
export async function readRefsAs(orgUrl: string, token: string, project: string, repository: string): Promise<RepoReadResult> {
  const base = `${encodeURIComponent(project)}/_apis/git/repositories/${encodeURIComponent(repository)}`;
  const r = await rawCall(orgUrl, token, 'GET', apiUrl(orgUrl, base, { 'api-version': '7.1' }));
  if (r.status !== 200) return { ok: false, status: r.status, error: vssMessage(r) };
  let repo: { id: string; projectId: string };
  try {
    const j = JSON.parse(r.body) as { id?: string; project?: { id?: string } };
    repo = { id: j.id ?? '', projectId: j.project?.id ?? '' };
  } catch {
    return { ok: false, status: r.status, error: `unexpected response: ${r.body.slice(0, 200)}` };
  }
  const refs = await rawCall(orgUrl, token, 'GET', apiUrl(orgUrl, `${base}/refs`, { filter: 'heads/', 'api-version': '7.1' }));
  if (refs.status !== 200) return { ok: false, status: refs.status, error: vssMessage(refs) };
  try {
    const j = JSON.parse(refs.body) as { value?: { name?: string; objectId?: string }[] };
    return { ok: true, repo, refs: (j.value ?? []).map((x) => ({ name: x.name ?? '', objectId: x.objectId ?? '' })) };
  } catch {
    return { ok: false, status: refs.status, error: `unexpected response: ${refs.body.slice(0, 200)}` };
  }
}

/** permissionevaluationbatch: evaluates `bit` on `token` for the caller of `bearer`. */
export async function evaluateAs(orgUrl: string, bearer: string, namespaceId: string, token: string, bit: number): Promise<{ ok: true; allowed: boolean } | { ok: false; status: number; error: string }> {
  const url = apiUrl(orgUrl, '_apis/security/permissionevaluationbatch', { 'api-version': '7.1' });
  const r = await rawCall(orgUrl, bearer, 'POST', url, { alwaysAllowAdministrators: false, evaluations: [{ securityNamespaceId: namespaceId, token, permissions: bit }] });
  if (r.status !== 200) return { ok: false, status: r.status, error: vssMessage(r) };
  try {
    const j = JSON.parse(r.body) as { evaluations?: { value?: boolean }[] };
    return { ok: true, allowed: j.evaluations?.[0]?.value === true };
  } catch {
    return { ok: false, status: r.status, error: `unexpected response: ${r.body.slice(0, 200)}` };
  }
}
