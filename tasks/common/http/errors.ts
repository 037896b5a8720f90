/**
 * The one error reader: status, service code, VSS typeKey, message and the wait the server asked
 * for, from whatever a client threw. Built on the Azure SDK's RestError (statusCode, code,
 * response.headers); the other clients' errors are read into the same shape:
 *
 *  - RestError (ARM clients, @azure/identity, core-rest-pipeline): `statusCode`, `code` (the
 *    service's error code, or a Node network code such as ECONNRESET), `response.headers`;
 *  - azure-devops-node-api / typed-rest-client: `statusCode`, `result.{typeKey,message}`, `responseHeaders`;
 *  - @kubernetes/client-node ApiException: a numeric `code`, `headers`, `body`;
 *  - Node errors: a string `code` (ECONNRESET, ...), possibly on an error in the `cause` chain.
 *
 * Callers map errors by status and code, never by message text.
 */
import { isRestError } from '@azure/core-rest-pipeline';

export interface ErrorInfo {
  /** HTTP status, when the error carries one. */
  status: number | undefined;
  /** The service's error code (ARM `error.code`, AKS's unwrapped code), when there is one. */
  code: string | undefined;
  /** Azure DevOps' VSS exception type (GitReferenceStaleException, IdentityNotFoundException, ...). */
  typeKey: string | undefined;
  /** The server's message (VSS `message`, ARM `error.message`), else the error's own. */
  message: string;
  /** The wait the server asked for (Retry-After, x-ms-retry-after-ms, retry-after-ms), in ms. */
  retryAfterMs: number | undefined;
  /** The network failure (ECONNRESET, ETIMEDOUT, ...) when the call did not get an answer. */
  network: string | undefined;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface Loose {
  statusCode?: unknown;
  status?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  result?: { message?: unknown; typeKey?: unknown } | null;
  response?: { status?: unknown; headers?: unknown };
  responseHeaders?: unknown;
  headers?: unknown;
}

const loose = (err: unknown): Loose | undefined =>
  err !== null && typeof err === 'object' ? (err as Loose) : undefined;

const httpStatus = (v: unknown): number | undefined => (typeof v === 'number' && v >= 100 && v < 600 ? v : undefined);

function statusOfLoose(e: Loose): number | undefined {
  // @kubernetes/client-node's ApiException carries the status as a numeric `code`.
  return httpStatus(e.statusCode) ?? httpStatus(e.status) ?? httpStatus(e.response?.status) ?? httpStatus(e.code);
}

/** The network error code of an error or of any error in its cause chain. */
function networkOf(err: unknown): string | undefined {
  for (let e = loose(err), depth = 0; e && depth < 5; e = loose(e.cause), depth++)
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  return undefined;
}

function headerOf(bag: unknown, name: string): string | undefined {
  if (!bag || typeof bag !== 'object') return undefined;
  const getter = (bag as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const v: unknown = getter.call(bag, name);
    if (typeof v === 'string') return v;
  }
  for (const [k, v] of Object.entries(bag)) {
    if (k.toLowerCase() !== name) continue;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  }
  return undefined;
}

function header(e: Loose, name: string): string | undefined {
  return headerOf(e.response?.headers, name) ?? headerOf(e.responseHeaders, name) ?? headerOf(e.headers, name);
}

const NUMBER = /^\s*\d+(\.\d+)?\s*$/;

/**
 * The wait the server asked for, in ms: x-ms-retry-after-ms, retry-after-ms, or Retry-After
 * (delta seconds or an HTTP date, relative to `now`). Undefined when it asked for nothing.
 */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | undefined {
  const e = loose(err);
  if (!e) return undefined;
  for (const h of ['x-ms-retry-after-ms', 'retry-after-ms']) {
    const v = header(e, h);
    if (v !== undefined && NUMBER.test(v)) return Math.ceil(Number(v));
  }
  const ra = header(e, 'retry-after');
  if (ra === undefined) return undefined;
  if (NUMBER.test(ra)) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function errorInfo(err: unknown, now: number = Date.now()): ErrorInfo {
  const e = loose(err) ?? {};
  const ownMessage = typeof e.message === 'string' ? e.message : String(err);
  const serverMessage = typeof e.result?.message === 'string' ? e.result.message : undefined;
  const common = {
    typeKey: typeof e.result?.typeKey === 'string' ? e.result.typeKey : undefined,
    message: serverMessage ?? ownMessage,
    retryAfterMs: retryAfterMs(err, now),
    network: networkOf(err),
  };
  if (isRestError(err)) {
    // RestError.code is the service's error code, or a Node network code when no answer came.
    const code = err.code !== undefined && !NETWORK_CODES.has(err.code) ? err.code : undefined;
    return { ...common, status: httpStatus(err.statusCode), code };
  }
  const status = statusOfLoose(e);
  const code = typeof e.code === 'string' && !NETWORK_CODES.has(e.code) ? e.code : undefined;
  return { ...common, status, code };
}

/** The HTTP status an error carries, whatever client threw it. */
export function statusOf(err: unknown): number | undefined {
  return errorInfo(err).status;
}

export function isStatus(err: unknown, status: number): boolean {
  return errorInfo(err).status === status;
}
