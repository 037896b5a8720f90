/**
 * Raw Azure DevOps calls where the status and the VSS message matter more than an SDK's
 * null-on-404, made with a token other than the connection's: anonymous (the organization's
 * tenant, named in the X-VSS-ResourceTenant header) or a managed identity's own token (reading
 * the repository's refs and evaluating a permission as that identity would).
 */
import { AdoHttpClient } from 'azure-devops-node-api/AdoHttpClientBases';
import { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import type { IRequestHandler, IRequestOptions } from 'azure-devops-node-api/interfaces/common/VsoBaseInterfaces';
import type { ProxyConfig } from '../auth/types';
import { apiUrl, requestOptions, USER_AGENT } from './connection';

let options: IRequestOptions = requestOptions(undefined);

/** Routes the raw calls through the agent's proxy (TaskContext.platform.proxy()), as the connection's. */
export function useProxy(proxy: ProxyConfig | undefined): void {
  options = requestOptions(proxy);
}
import { RetryPolicy } from '../http/retry';

/** No authentication at all (the tenant probe must be anonymous). */
const anonymous: IRequestHandler = {
  prepareRequest() {
    /* no credentials */
  },
  canHandleAuthentication() {
    return false;
  },
  handleAuthentication() {
    return Promise.reject(new Error('anonymous'));
  },
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A transient answer (429, 5xx) inside the retry: carries the response so the policy reads its status and Retry-After. */
class TransientAnswer extends Error {
  readonly statusCode: number;
  readonly responseHeaders: RawResponse['headers'];
  constructor(readonly answer: RawResponse) {
    super(`HTTP ${answer.status}`);
    this.statusCode = answer.status;
    this.responseHeaders = answer.headers;
  }
}

/**
 * A raw HTTP call through the node-api's HTTP client (proxy and keep-alive as the SDK does), under
 * the one retry policy: 429/5xx answers and connection resets are retried (both calls here are
 * reads: a GET, and permissionevaluationbatch, a POST that changes nothing). The last answer is
 * returned when the policy gives up on an answer.
 */
export async function rawCall(
  token: string | undefined,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  retry: RetryPolicy = new RetryPolicy(),
): Promise<RawResponse> {
  const client = new AdoHttpClient(USER_AGENT, [token ? new BearerCredentialHandler(token) : anonymous], options);
  const headers = { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  const u = new URL(url);
  try {
    return await retry.run(`${method} ${u.origin}${u.pathname}`, async () => {
      const res =
        method === 'GET' ? await client.get(url, headers) : await client.post(url, JSON.stringify(body ?? {}), headers);
      const answer = { status: res.message.statusCode ?? 0, headers: res.message.headers, body: await res.readBody() };
      if (retry.options.retryOn(new TransientAnswer(answer))) throw new TransientAnswer(answer);
      return answer;
    });
  } catch (err) {
    if (err instanceof TransientAnswer) return err.answer;
    throw err;
  }
}

/** The VSS error message of a response body (`{"message":"TF401444: …"}`), else the body start. */
export function vssMessage(r: RawResponse): string {
  try {
    const j = JSON.parse(r.body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    /* not JSON */
  }
  return r.body.slice(0, 300) || `HTTP ${r.status}`;
}

/**
 * The tenant an organization is connected to: Azure DevOps names it in the `X-VSS-ResourceTenant`
 * header of its answer to an anonymous request that needs authentication (connectionData may be
 * answered anonymously, the project list is not unless the organization has public projects).
 * The project list is asked first: its 401 carries the header, so one request usually answers.
 * Undefined when no answer carries the header.
 */
export async function organizationTenant(orgUrl: string, retry?: RetryPolicy): Promise<string | undefined> {
  for (const p of ['_apis/projects', '_apis/connectionData']) {
    const r = await rawCall(
      undefined,
      'GET',
      apiUrl(orgUrl, p, p === '_apis/projects' ? { $top: 1, 'api-version': '7.1' } : {}),
      undefined,
      retry,
    );
    const h = r.headers['x-vss-resourcetenant'];
    const v = Array.isArray(h) ? h[0] : h;
    if (v && /^[0-9a-f-]{36}$/i.test(v) && !/^0{8}-/.test(v)) return v.toLowerCase();
  }
  return undefined;
}

export type RepoReadResult =
  | { ok: true; repo: { id: string; projectId: string }; refs: { name: string; objectId: string }[] }
  | { ok: false; status: number; error: string };

/** Reads the repository and its branch refs with a bearer token, as a client of the identity would. */
export async function readRefsAs(
  orgUrl: string,
  token: string,
  project: string,
  repository: string,
  retry?: RetryPolicy,
): Promise<RepoReadResult> {
  const base = `${encodeURIComponent(project)}/_apis/git/repositories/${encodeURIComponent(repository)}`;
  const r = await rawCall(token, 'GET', apiUrl(orgUrl, base, { 'api-version': '7.1' }), undefined, retry);
  if (r.status !== 200) return { ok: false, status: r.status, error: vssMessage(r) };
  let repo: { id: string; projectId: string };
  try {
    const j = JSON.parse(r.body) as { id?: string; project?: { id?: string } };
    repo = { id: j.id ?? '', projectId: j.project?.id ?? '' };
  } catch {
    return { ok: false, status: r.status, error: `unexpected response: ${r.body.slice(0, 200)}` };
  }
  const refs = await rawCall(
    token,
    'GET',
    apiUrl(orgUrl, `${base}/refs`, { filter: 'heads/', 'api-version': '7.1' }),
    undefined,
    retry,
  );
  if (refs.status !== 200) return { ok: false, status: refs.status, error: vssMessage(refs) };
  try {
    const j = JSON.parse(refs.body) as { value?: { name?: string; objectId?: string }[] };
    return { ok: true, repo, refs: (j.value ?? []).map((x) => ({ name: x.name ?? '', objectId: x.objectId ?? '' })) };
  } catch {
    return { ok: false, status: refs.status, error: `unexpected response: ${refs.body.slice(0, 200)}` };
  }
}

/** permissionevaluationbatch: evaluates `bit` on `token` for the caller of `bearer`. */
export async function evaluateAs(
  orgUrl: string,
  bearer: string,
  namespaceId: string,
  token: string,
  bit: number,
  retry?: RetryPolicy,
): Promise<{ ok: true; allowed: boolean } | { ok: false; status: number; error: string }> {
  const url = apiUrl(orgUrl, '_apis/security/permissionevaluationbatch', { 'api-version': '7.1' });
  const r = await rawCall(
    bearer,
    'POST',
    url,
    {
      alwaysAllowAdministrators: false,
      evaluations: [{ securityNamespaceId: namespaceId, token, permissions: bit }],
    },
    retry,
  );
  if (r.status !== 200) return { ok: false, status: r.status, error: vssMessage(r) };
  try {
    const j = JSON.parse(r.body) as { evaluations?: { value?: boolean }[] };
    return { ok: true, allowed: j.evaluations?.[0]?.value === true };
  } catch {
    return { ok: false, status: r.status, error: `unexpected response: ${r.body.slice(0, 200)}` };
  }
}
