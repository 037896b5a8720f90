/**
 * Turns any thrown error into the message a platform engineer sees: what failed, why, and what to
 * do. Errors are recognised by type and code (RestError code/statusCode, identity's
 * errorResponse.error and AADSTS codes, azure-devops-node-api statusCode/result, Node error
 * codes), never by parsing English text.
 */
import { errorInfo, type ErrorInfo } from '../http/errors';
import { UserError } from '../errors';
import { InputError } from './inputs';

export interface DescribedError {
  /** The one message for the log, the result and the report. */
  text: string;
  /** Extra lines for debug output (stack, inner error). */
  debug: string[];
}

interface Loose {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  cause?: unknown;
  inner?: unknown;
  errors?: unknown;
  request?: { method?: unknown; url?: unknown };
  result?: { message?: unknown; typeKey?: unknown };
  body?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown };
  stack?: unknown;
}

const asLoose = (e: unknown): Loose => (e !== null && typeof e === 'object' ? (e as Loose) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function withFix(message: string, cause?: string, fix?: string): string {
  let text = message.trim();
  if (cause) text += `${/[.!?]$/.test(text) ? '' : '.'} Cause: ${cause}`;
  if (fix) text += `${/[.!?]$/.test(text) ? '' : '.'} Fix: ${fix}`;
  return text;
}

/** A UserError or InputError anywhere in the cause chain (credentials wrap our assertion callback's errors). */
function findOurs(err: unknown): UserError | InputError | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0) {
    const e = stack.pop();
    if (!e || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof UserError || e instanceof InputError) return e;
    const l = asLoose(e);
    stack.push(l.cause, l.inner);
    if (Array.isArray(l.errors)) stack.push(...(l.errors as unknown[]));
  }
  return undefined;
}

const AADSTS: Record<string, { cause: string; fix: string }> = {
  AADSTS70021: {
    cause: "Entra ID found no federated credential matching the pipeline's token (issuer, subject, audience)",
    fix: "make the federated credential on the service connection's app registration or managed identity match the issuer and subject shown on the service connection (Project settings > Service connections)",
  },
  AADSTS700024: {
    cause: "the pipeline's OIDC token had expired when Entra ID received it",
    fix: "re-run the job; check the agent's clock",
  },
  AADSTS7000215: {
    cause: "the service principal's client secret is wrong",
    fix: 'renew the secret and update the service connection, or switch the connection to workload identity federation',
  },
  AADSTS7000222: {
    cause: "the service principal's client secret has expired",
    fix: 'renew the secret and update the service connection, or switch the connection to workload identity federation',
  },
  AADSTS700016: {
    cause: 'the client id is not an application in this tenant',
    fix: 'check the tenant and client id of the service connection',
  },
  AADSTS90002: {
    cause: 'the tenant does not exist in this cloud',
    fix: 'check the tenant id and the environment (cloud) of the service connection',
  },
  AADSTS900023: { cause: 'the tenant id is not valid', fix: 'check the tenant id of the service connection' },
  AADSTS700027: {
    cause: "the certificate's signature was not accepted",
    fix: "upload the certificate to the app registration (Certificates & secrets) or update the service connection's certificate",
  },
};

const AUTH_ERRORS = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
]);

/** @azure/identity errors. MSAL's text is "invalid_client: Error(s): … - Description: AADSTS…: … - Correlation ID: …"; keep the description. */
function describeAuth(l: Loose): string | undefined {
  const name = str(l.name);
  if (!name || !AUTH_ERRORS.has(name)) return undefined;
  const raw = str(l.errorResponse?.errorDescription) ?? str(l.message) ?? name;
  const description =
    /Description: (.*?)(?: - (?:Correlation ID|Trace ID|Timestamp):|$)/s.exec(raw)?.[1] ?? raw.split(/\r?\n/)[0];
  const code = /AADSTS\d+/.exec(raw)?.[0];
  const known = code ? AADSTS[code] : undefined;
  const message = `Getting a token for the Azure service connection failed: ${description.trim()}`;
  if (known) return withFix(message, known.cause, known.fix);
  if (name === 'CredentialUnavailableError') {
    return withFix(
      message,
      undefined,
      "check the service connection's authentication scheme, the agent's network and proxy, and (for managed identity) that the agent runs on an Azure VM with that identity",
    );
  }
  return withFix(message, undefined, 'check the service connection (Project settings > Service connections > Verify)');
}

function describeRest(l: Loose, info: ErrorInfo): string | undefined {
  if (str(l.name) !== 'RestError') return undefined;
  const { status } = info;
  const what =
    l.request && str(l.request.method) && str(l.request.url)
      ? `${str(l.request.method)} ${redactQuery(str(l.request.url)!)}`
      : 'an Azure request';
  const code = info.code ?? info.network;
  const msg = (str(l.message) ?? '').split(/\r?\n/)[0];
  const message = `${what} failed${status ? ` with HTTP ${status}` : ''}${code ? ` ${code}` : ''}: ${msg}`;
  if (code === 'AuthorizationFailed' || code === 'LinkedAuthorizationFailed' || status === 403) {
    return withFix(
      message,
      "the service connection's identity lacks an Azure role for this action",
      'grant the identity the role named in the README (e.g. Azure Kubernetes Service Contributor on the cluster, Managed Identity Contributor on the resource group), then re-run',
    );
  }
  if (status === 401 || code === 'InvalidAuthenticationToken' || code === 'ExpiredAuthenticationToken') {
    return withFix(
      message,
      'Azure Resource Manager rejected the token',
      'check that the service connection targets the right tenant and cloud',
    );
  }
  if (code === 'SubscriptionNotFound')
    return withFix(
      message,
      undefined,
      'check the subscription of the service connection and that its identity has access to it',
    );
  if (
    code === 'ResourceGroupNotFound' ||
    code === 'ResourceNotFound' ||
    code === 'ParentResourceNotFound' ||
    status === 404
  ) {
    return withFix(
      message,
      undefined,
      'check the resource group and resource names in the task inputs, and the subscription of the service connection',
    );
  }
  if (code === 'REQUEST_SEND_ERROR')
    return withFix(message, 'the request did not reach Azure', "check the agent's network, proxy and TLS settings");
  if (status !== undefined && status >= 500)
    return withFix(message, ...stillFailing('Azure Resource Manager', 'https://azure.status.microsoft'));
  return message;
}

function redactQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

/** azure-devops-node-api (typed-rest-client) errors: statusCode + result { message, typeKey }. */
function describeDevOps(l: Loose, info: ErrorInfo): string | undefined {
  const { status, typeKey } = info;
  if (status === undefined || typeof l.statusCode !== 'number') return undefined;
  const server = info.message;
  const message = `Azure DevOps request failed with HTTP ${status}${typeKey ? ` ${typeKey}` : ''}: ${server}`;
  if (status === 401) {
    return withFix(
      message,
      'Azure DevOps did not accept the token',
      "add the service connection's identity to the Azure DevOps organization (Organization settings > Users, Basic access) or check that the job token has not expired",
    );
  }
  if (status === 403)
    return withFix(
      message,
      'the identity lacks an Azure DevOps permission',
      "grant the permission named above to the identity (or to the project's build service for the job token)",
    );
  if (status === 404)
    return withFix(message, undefined, 'check the organization URL, project and repository names in the task inputs');
  if (status === 429) return withFix(message, 'Azure DevOps kept throttling the requests', 're-run later');
  if (status >= 500) return withFix(message, ...stillFailing('Azure DevOps', 'https://status.dev.azure.com'));
  return message;
}

/** A 5xx answer that outlasted the retry policy: a service outage, not the user's setup. */
function stillFailing(service: string, statusPage: string): [string, string] {
  return [
    `${service} kept answering with a server error after every retry (a service-side outage)`,
    `re-run the job: what this run wrote is kept and the next run continues from there; if it persists, check ${statusPage}`,
  ];
}

/** Kubernetes client ApiException: numeric code and a Status body. */
function describeKube(l: Loose): string | undefined {
  if (typeof l.code !== 'number' || l.body === undefined) return undefined;
  let reason: string;
  try {
    const b = (typeof l.body === 'string' ? JSON.parse(l.body) : l.body) as { message?: unknown; reason?: unknown };
    reason = [str(b.reason), str(b.message)].filter(Boolean).join(': ');
  } catch {
    reason = typeof l.body === 'string' ? l.body.slice(0, 300) : '';
  }
  const message = `Kubernetes API request failed with HTTP ${l.code}${reason ? `: ${reason}` : ''}`;
  if (l.code === 401)
    return withFix(
      message,
      'the cluster did not accept the credentials',
      'check the cluster access (AKS local accounts / Entra integration) of the service connection',
    );
  if (l.code === 403)
    return withFix(
      message,
      'the identity lacks a Kubernetes RBAC permission',
      'grant the identity the cluster role named above (e.g. Azure Kubernetes Service RBAC Reader on the cluster)',
    );
  if (l.code >= 500)
    return withFix(
      message,
      "the cluster's API server kept answering with a server error after every retry",
      "check the cluster's health (`az aks show --query powerState`, its control plane in the Azure portal), then re-run the job",
    );
  return message;
}

const NODE_CODES: Record<string, string> = {
  ECONNREFUSED: 'the server refused the connection: check the URL and that the service is reachable from the agent',
  ENOTFOUND: "the host name does not resolve: check the URL and the agent's DNS",
  EAI_AGAIN: "the host name could not be resolved right now: check the agent's DNS",
  ECONNRESET: "the connection was reset: check the agent's network and proxy",
  ETIMEDOUT: "the connection timed out: check the agent's network and proxy",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "the server's TLS certificate is not trusted: add the CA to the agent (NODE_EXTRA_CA_CERTS) or fix the proxy's certificate",
  SELF_SIGNED_CERT_IN_CHAIN:
    "the server's TLS certificate chain is not trusted: add the CA to the agent (NODE_EXTRA_CA_CERTS)",
  DEPTH_ZERO_SELF_SIGNED_CERT:
    'the server uses a self-signed TLS certificate: add it to the agent (NODE_EXTRA_CA_CERTS)',
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
};

function describeNode(l: Loose): string | undefined {
  const code = str(l.code);
  const hint = code ? NODE_CODES[code] : undefined;
  if (!hint) return undefined;
  return withFix(`Network error: ${str(l.message) ?? code}`, undefined, hint);
}

export function describeError(err: unknown): DescribedError {
  const debug: string[] = [];
  const l = asLoose(err);
  if (str(l.stack)) debug.push(str(l.stack)!);

  const ours = findOurs(err);
  if (ours instanceof InputError) return { text: ours.message, debug };
  if (ours instanceof UserError) {
    const inner = asLoose(ours.inner);
    if (str(inner.stack)) debug.push(`inner: ${str(inner.stack)}`);
    return { text: withFix(ours.message, ours.cause, ours.fix), debug };
  }

  const info = errorInfo(err);
  const text =
    describeAuth(l) ??
    describeRest(l, info) ??
    describeKube(l) ??
    describeDevOps(l, info) ??
    describeNode(l) ??
    (err instanceof Error ? err.message || err.name : String(err));
  return { text, debug };
}
