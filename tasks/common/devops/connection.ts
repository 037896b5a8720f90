/**
 * A connection to an Azure DevOps organization, the one access path of all three tasks: a bearer
 * token (an Entra token of a service connection, or the job token) refreshed before it expires,
 * one GET connectionData (proves the token is accepted) and one GET ResourceAreas per organization
 * and run, then per-area clients built on demand and kept: azure-devops-node-api's GitApi and
 * CoreApi (imported one by one: the package's WebApi requires every API class, ~1 MB per bundle)
 * and its REST client for the areas the SDK has no client for (Graph, Identities on vssps;
 * MemberEntitlementManagement on vsaex; Security). Every call runs under the shared retry policy
 * (node-api retries neither 429 nor POST). The agent's proxy applies to every client.
 */
import { CoreApi, type ICoreApi } from 'azure-devops-node-api/CoreApi';
import { GitApi, type IGitApi } from 'azure-devops-node-api/GitApi';
import { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import type { IRequestOptions } from 'azure-devops-node-api/interfaces/common/VsoBaseInterfaces';
import { AdoRestClient } from 'azure-devops-node-api/AdoHttpClientBases';
import type { RestClient } from 'typed-rest-client/RestClient';
import type { AccessToken } from '@azure/identity';
import type { AzureConnection, ProxyConfig } from '../auth/types';
import { retrying, retryingRestClient } from '../http/devops';
import type { RetryPolicy } from '../http/retry';
import type { Logger } from '../log';
import { UserError } from '../errors';
import { describeDevOpsError, serviceConnectionHolder, type TokenHolder } from './errors';
import { errorInfo } from '../http/errors';

/** Resource area ids (the location service's ids, the same in every organization). */
export const ResourceAreaIds = {
  Graph: 'bb1e7ec9-e901-4b68-999a-de7012b920f8',
  MemberEntitlementManagement: '68ddce18-2501-45f1-a17b-7931a9922690',
  /** IMS (identities). Served from the Graph host in Azure DevOps Services. */
  Identities: '8a3d49b8-91f0-46ef-b33d-dda338c25db3',
  /** GitApi.RESOURCE_AREA_ID. */
  Git: '4e080c62-fa21-4fbc-8fef-2a10a2b38049',
} as const;

/** The User-Agent of every Azure DevOps call (node-api's WebApi default names the package too). */
export const USER_AGENT = 'flux-oidc-azure-devops (azure-devops-node-api)';

export type Area = 'core' | 'graph' | 'identities' | 'entitlements';

export interface DevOpsCaller {
  id: string;
  displayName?: string;
  descriptor?: string;
}

export interface DevOpsConnection {
  /** The organization URL, without a trailing slash. */
  orgUrl: string;
  /** The Git client (memoized: its location lookup, OPTIONS _apis/git, happens once per run). */
  git(): Promise<IGitApi>;
  /** The Core client (projects, teams), memoized likewise. */
  core(): Promise<ICoreApi>;
  /** Base URLs (no trailing slash) of the areas called through raw REST. */
  areas: Record<Area, string>;
  /**
   * The SDK's REST client for an area's host, retried; for the areas the SDK has no client for.
   * One per host, each with its own bearer handler: node-api's handler sends the token only to
   * the first host it saw, and cross-origin sending is not something to switch on globally.
   */
  rest(area: Area): RestClient;
  /** Replaces the bearer token on every client (a fresh one before a long-running step). */
  setToken(token: string): void;
  /** Fetches a new token when the current one expires within 5 minutes (no-op for a fixed token). */
  refresh(): Promise<void>;
  /** Who the token belongs to (connectionData.authenticatedUser). */
  caller: DevOpsCaller;
  /** Who the token belongs to, as error texts name it (set by connectDevOps). */
  holder?: TokenHolder;
  log: Logger;
  retry: RetryPolicy;
}

export interface ConnectOptions {
  orgUrl: string;
  /** A bearer token (already registered as a secret by the caller), or how to get (and refresh) one. */
  token: string | (() => Promise<AccessToken>);
  /** The agent's proxy (TaskContext.platform.proxy()). */
  proxy?: ProxyConfig;
  log: Logger;
  retry: RetryPolicy;
  /** Who the token is for, for error texts ("the service connection's principal (…)"); used when `holder` is not given. */
  principal?: string;
  /** Who holds the token (JOB_TOKEN_HOLDER for the job access token); default: a service connection's principal. */
  holder?: TokenHolder;
  /** Where the organization URL came from, for error texts: an input name, or a pipeline variable (default organizationUrl). */
  urlSource?: string;
}

const UNREACHABLE =
  /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)\b/;

/** The network failure code of an error (or its cause), when the organization could not be reached at all. */
function unreachableCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.test(code)) return code;
    const msg = (e as { message?: unknown }).message;
    const m = typeof msg === 'string' ? UNREACHABLE.exec(msg) : null;
    if (m) return m[1];
  }
  return undefined;
}

/**
 * A UserError for an organization URL that names no reachable organization (DNS, refused, TLS,
 * or a 404 for the organization itself), naming where the URL came from and the forms it takes.
 */
export function unreachableOrganization(
  err: unknown,
  orgUrl: string,
  source = 'organizationUrl',
): UserError | undefined {
  const code = unreachableCode(err);
  const info = errorInfo(err);
  const notFound = info.status === 404 && (!info.typeKey || /HostNotFound|OrganizationNotFound/i.test(info.typeKey));
  if (!code && !notFound) return undefined;
  return new UserError(
    `Could not reach the Azure DevOps organization ${orgUrl} (${source}): ${code ? `network error ${code}` : 'no such organization (HTTP 404)'}.`,
    {
      code: 'OrganizationUnreachable',
      cause: `${source} does not name an Azure DevOps organization this agent can reach. ${info.message}`,
      fix: `set ${source} to your organization's URL, https://dev.azure.com/<organization> (or https://<organization>.visualstudio.com), as shown in the browser's address bar; check the agent's proxy settings if the URL is right`,
      inner: err,
    },
  );
}

/** What a task says to open a connection; the task context adds the log, the retry policy and the proxy. */
export type DevOpsConnectRequest = Omit<ConnectOptions, 'log' | 'retry' | 'proxy'>;

/**
 * The task context's connection factory: one connection per organization and token holder per
 * run (connectionData and ResourceAreas read once), the token refreshed before it expires.
 */
export type DevOpsConnector = (request: DevOpsConnectRequest) => Promise<DevOpsConnection>;

/** A DevOpsConnector that keeps one connection per organization and holder. */
export function devopsConnector(base: Pick<ConnectOptions, 'log' | 'retry' | 'proxy'>): DevOpsConnector {
  const open = new Map<string, Promise<DevOpsConnection>>();
  return (request) => {
    const holder = request.holder ?? serviceConnectionHolder(request.principal);
    const key = `${trim(request.orgUrl).toLowerCase()}\n${holder.who}`;
    let c = open.get(key);
    if (!c) {
      c = connectDevOps({ ...base, ...request });
      // A failed connect is not kept: a later attempt (another step) tries again.
      c.catch(() => open.delete(key));
      open.set(key, c);
    }
    return c;
  };
}

/**
 * An Entra token for Azure DevOps from an AzureRM service connection, registered as a secret before
 * anything can print it.
 */
export async function devopsTokenFor(
  conn: Pick<AzureConnection, 'credential' | 'devopsScope'>,
  log: Logger,
): Promise<AccessToken> {
  const t = await conn.credential.getToken(conn.devopsScope);
  if (!t?.token) {
    throw new UserError('Entra ID returned no token for Azure DevOps.', {
      code: 'DevOpsTokenMissing',
      fix: 'check the service connection (Project settings > Service connections > Verify) and re-run',
    });
  }
  log.secret(t.token);
  return t;
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}

export function requestOptions(proxy: ProxyConfig | undefined): IRequestOptions {
  // keepAlive: Node 19+ closes idle sockets after 5 s by default; long runs reuse connections.
  return {
    keepAlive: true,
    ...(proxy
      ? {
          proxy: {
            proxyUrl: proxy.url,
            ...(proxy.username ? { proxyUsername: proxy.username } : {}),
            ...(proxy.password ? { proxyPassword: proxy.password } : {}),
            ...(proxy.bypass ? { proxyBypassHosts: proxy.bypass } : {}),
          },
        }
      : {}),
  };
}

interface ResourceArea {
  id?: string;
  locationUrl?: string;
}

/** The area hosts from one ResourceAreas answer (an empty one, Azure DevOps Server: all on the collection). */
function resolveAreas(orgUrl: string, areas: ResourceArea[]): Record<Area | 'git', string> {
  const find = (id: string): string | undefined => {
    const hit = areas.find((a) => a.id?.toLowerCase() === id.toLowerCase());
    return hit?.locationUrl ? trim(hit.locationUrl) : undefined;
  };
  const graph = find(ResourceAreaIds.Graph) ?? orgUrl;
  return {
    core: orgUrl,
    git: find(ResourceAreaIds.Git) ?? orgUrl,
    graph,
    identities: find(ResourceAreaIds.Identities) ?? graph,
    entitlements: find(ResourceAreaIds.MemberEntitlementManagement) ?? orgUrl,
  };
}

/** The current token, fetched again when it expires within 5 minutes. */
function tokenSource(token: ConnectOptions['token'], log: Logger) {
  let expiresOn = Number.POSITIVE_INFINITY;
  const get = async (): Promise<string> => {
    if (typeof token === 'string') return token;
    const t = await token();
    log.secret(t.token);
    expiresOn = t.expiresOnTimestamp;
    return t.token;
  };
  const due = (): boolean => typeof token !== 'string' && Date.now() > expiresOn - 5 * 60_000;
  return { get, due };
}

/** Bearer handlers made with the current token; a fresh token replaces it on every one of them. */
function bearerHandlers(initial: string) {
  const handlers: BearerCredentialHandler[] = [];
  let token = initial;
  const make = (): BearerCredentialHandler => {
    const h = new BearerCredentialHandler(token);
    handlers.push(h);
    return h;
  };
  const setToken = (fresh: string): void => {
    token = fresh;
    for (const h of handlers) h.token = fresh;
  };
  return { make, setToken };
}

/**
 * One REST client per host, each with its own bearer handler: node-api's handler sends the token
 * only to the first host it saw, and cross-origin sending is not something to switch on globally.
 */
function restClients(
  handler: () => BearerCredentialHandler,
  options: IRequestOptions,
  retry: RetryPolicy,
): (base: string) => RestClient {
  const clients = new Map<string, RestClient>();
  return (base) => {
    const host = new URL(base).host;
    let client = clients.get(host);
    if (!client) {
      client = retryingRestClient(new AdoRestClient(USER_AGENT, base, [handler()], options), retry);
      clients.set(host, client);
    }
    return client;
  };
}

/** GET connectionData: proves the organization accepts the token, and says whose it is. */
async function readCaller(
  core: RestClient,
  orgUrl: string,
  holder: TokenHolder,
  urlSource: string | undefined,
): Promise<DevOpsCaller> {
  try {
    const data = await core.get<{
      authenticatedUser?: { id?: string; providerDisplayName?: string; subjectDescriptor?: string };
    }>(apiUrl(orgUrl, '_apis/connectionData'));
    const user = data.result?.authenticatedUser;
    // typed-rest-client answers a 404 with a null result instead of throwing.
    if (!data.result)
      throw Object.assign(new Error(`${orgUrl}/_apis/connectionData: not found`), {
        statusCode: data.statusCode || 404,
      });
    return {
      id: user?.id ?? '',
      ...(user?.providerDisplayName ? { displayName: user.providerDisplayName } : {}),
      ...(user?.subjectDescriptor ? { descriptor: user.subjectDescriptor } : {}),
    };
  } catch (err) {
    throw (
      unreachableOrganization(err, orgUrl, urlSource) ??
      describeDevOpsError(err, { action: `connect to the Azure DevOps organization ${orgUrl}`, holder })
    );
  }
}

/** GET ResourceAreas, once: the hosts of the areas. */
async function readAreas(core: RestClient, orgUrl: string, holder: TokenHolder): Promise<ResourceArea[]> {
  try {
    // https://learn.microsoft.com/rest/api/azure/devops/locations/resource-areas/list
    const res = await core.get<{ value?: ResourceArea[] | null } | ResourceArea[]>(
      apiUrl(orgUrl, '_apis/ResourceAreas', { 'api-version': '7.1-preview.1' }),
    );
    const r = res.result;
    return Array.isArray(r) ? r : Array.isArray(r?.value) ? r.value : [];
  } catch (err) {
    throw describeDevOpsError(err, { action: `read the resource areas of ${orgUrl}`, holder });
  }
}

/**
 * Connects (GET connectionData, which proves the token is accepted) and resolves the area hosts
 * (GET ResourceAreas, once). A token the organization does not accept fails here, before anything
 * is written.
 */
export async function connectDevOps(opts: ConnectOptions): Promise<DevOpsConnection> {
  const orgUrl = trim(opts.orgUrl);
  const holder = opts.holder ?? serviceConnectionHolder(opts.principal);
  const options = requestOptions(opts.proxy);
  const tokens = tokenSource(opts.token, opts.log);
  const bearer = bearerHandlers(await tokens.get());
  const restFor = restClients(bearer.make, options, opts.retry);
  const core = restFor(orgUrl);
  const caller = await readCaller(core, orgUrl, holder, opts.urlSource);
  const resolved = resolveAreas(orgUrl, await readAreas(core, orgUrl, holder));
  opts.log.debug(
    `Azure DevOps areas: graph ${resolved.graph}, identities ${resolved.identities}, entitlements ${resolved.entitlements}`,
  );
  const once = <T extends object>(make: () => T, prefix: string): (() => Promise<T>) => {
    let made: T | undefined;
    return () => Promise.resolve((made ??= retrying(make(), opts.retry, prefix)));
  };
  const git = once(() => new GitApi(resolved.git, [bearer.make()], options, USER_AGENT), 'Git');
  const coreApi = once(() => new CoreApi(orgUrl, [bearer.make()], options, USER_AGENT), 'Core');
  const refresh = async (): Promise<void> => {
    if (tokens.due()) bearer.setToken(await tokens.get());
  };
  const areas: Record<Area, string> = {
    core: resolved.core,
    graph: resolved.graph,
    identities: resolved.identities,
    entitlements: resolved.entitlements,
  };
  return {
    orgUrl,
    git,
    core: coreApi,
    rest: (area: Area) => restFor(areas[area]),
    setToken: bearer.setToken,
    refresh,
    areas,
    caller,
    holder,
    log: opts.log,
    retry: opts.retry,
  };
}

/** Joins a base URL, a path and query parameters (values encoded; undefined ones dropped). */
export function apiUrl(
  base: string,
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
): string {
  const q = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${trim(base)}/${path.replace(/^\/+/, '')}${q ? `?${q}` : ''}`;
}
