/**
 * A connection to an Azure DevOps organization: azure-devops-node-api's WebApi with a bearer
 * token (an Entra token of a service connection, or the job token), the hosts of the areas the SDK
 * has no client for (Graph, Identities on vssps; MemberEntitlementManagement on vsaex) discovered
 * through the location service's resource areas as real clients do, and the SDK's REST client for
 * the raw calls. Every call runs under the shared retry policy (node-api retries neither 429 nor POST).
 */
import { WebApi } from 'azure-devops-node-api';
import { BearerCredentialHandler } from 'azure-devops-node-api/handlers/bearertoken';
import type { RestClient } from 'typed-rest-client/RestClient';
import type { AccessToken } from '@azure/identity';
import type { AzureConnection } from '../auth/types';
import { retryingRestClient, retryingWebApi } from '../http/devops';
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
} as const;

export type Area = 'core' | 'graph' | 'identities' | 'entitlements';

export interface DevOpsCaller {
  id: string;
  displayName?: string;
  descriptor?: string;
}

export interface DevOpsConnection {
  /** The organization URL, without a trailing slash. */
  orgUrl: string;
  web: WebApi;
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
  /** Who the token belongs to (connectionData.authenticatedUser). */
  caller: DevOpsCaller;
  /** Who the token belongs to, as error texts name it (set by connectDevOps). */
  holder?: TokenHolder;
  log: Logger;
  retry: RetryPolicy;
}

export interface ConnectOptions {
  orgUrl: string;
  /** A bearer token (already registered as a secret by the caller). */
  token: string;
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

/**
 * Connects (GET connectionData, which proves the token is accepted) and resolves the area hosts.
 * A token the organization does not accept fails here, before anything is written.
 */
export async function connectDevOps(opts: ConnectOptions): Promise<DevOpsConnection> {
  const orgUrl = trim(opts.orgUrl);
  const holder = opts.holder ?? serviceConnectionHolder(opts.principal);
  // keepAlive: Node 19+ closes idle sockets after 5 s by default; long runs reuse connections.
  const requestOptions = { keepAlive: true };
  let token = opts.token;
  const handlers = [new BearerCredentialHandler(token)];
  const raw = new WebApi(orgUrl, handlers[0], requestOptions);
  const web = retryingWebApi(raw, opts.retry);
  let caller: DevOpsCaller;
  try {
    // typed-rest-client answers a 404 with a null result instead of throwing.
    const data = (await web.connect()) as Awaited<ReturnType<WebApi['connect']>> | null;
    if (!data) throw Object.assign(new Error(`${orgUrl}/_apis/connectionData: not found`), { statusCode: 404 });
    const user = data.authenticatedUser;
    caller = {
      id: user?.id ?? '',
      ...(user?.providerDisplayName ? { displayName: user.providerDisplayName } : {}),
      ...(user?.subjectDescriptor ? { descriptor: user.subjectDescriptor } : {}),
    };
  } catch (err) {
    throw (
      unreachableOrganization(err, orgUrl, opts.urlSource) ??
      describeDevOpsError(err, { action: `connect to the Azure DevOps organization ${orgUrl}`, holder })
    );
  }
  let areas: { id?: string; locationUrl?: string }[] = [];
  try {
    const locations = await web.getLocationsApi();
    areas = (await locations.getResourceAreas()) ?? [];
  } catch (err) {
    throw describeDevOpsError(err, { action: `read the resource areas of ${orgUrl}`, holder });
  }
  // An empty list is what Azure DevOps Server answers: every area lives on the collection URL.
  const find = (id: string): string | undefined => {
    if (!Array.isArray(areas)) return undefined;
    const hit = areas.find((a) => a.id?.toLowerCase() === id.toLowerCase());
    return hit?.locationUrl ? trim(hit.locationUrl) : undefined;
  };
  const graph = find(ResourceAreaIds.Graph) ?? orgUrl;
  const resolved = {
    core: orgUrl,
    graph,
    identities: find(ResourceAreaIds.Identities) ?? graph,
    entitlements: find(ResourceAreaIds.MemberEntitlementManagement) ?? orgUrl,
  };
  opts.log.debug(
    `Azure DevOps areas: graph ${resolved.graph}, identities ${resolved.identities}, entitlements ${resolved.entitlements}`,
  );
  const clients = new Map<string, RestClient>();
  clients.set(new URL(orgUrl).host, retryingRestClient(raw.rest, opts.retry));
  const rest = (area: Area): RestClient => {
    const base = resolved[area];
    const host = new URL(base).host;
    let client = clients.get(host);
    if (!client) {
      const handler = new BearerCredentialHandler(token);
      handlers.push(handler);
      client = retryingRestClient(new WebApi(base, handler, requestOptions).rest, opts.retry);
      clients.set(host, client);
    }
    return client;
  };
  const setToken = (fresh: string): void => {
    token = fresh;
    for (const h of handlers) h.token = fresh;
  };
  return { orgUrl, web, rest, setToken, areas: resolved, caller, holder, log: opts.log, retry: opts.retry };
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
