/**
 * The one retry policy for HTTP calls the SDKs do not retry themselves (azure-devops-node-api
 * retries neither 429 nor any POST; hand-written REST retries nothing). The Azure SDK clients
 * (ARM, identity) keep their own retry pipelines; do not wrap those twice.
 *
 * Retries: 429, 500, 502, 503, 504 and connection failures (ECONNRESET, socket hang up,
 * ETIMEDOUT, ...). Waits what the server asks (Retry-After in seconds or as an HTTP date,
 * x-ms-retry-after-ms), otherwise exponential backoff with full jitter. Bounded by attempts AND
 * by total time; when the server asks for a wait that does not fit the budget it gives up at once
 * with the server's error. Every retry is logged.
 */
import type { Logger } from '../log';

export interface RetryOptions {
  /** Total attempts including the first (default 6). */
  maxAttempts?: number;
  /** Budget for the whole call including waits, in ms (default 120 000). */
  maxTotalMs?: number;
  /** First backoff ceiling in ms (default 1 000); doubles per attempt. */
  baseDelayMs?: number;
  /** Largest single backoff wait in ms (default 30 000). Server-requested waits are not capped by it, only by the budget. */
  maxDelayMs?: number;
  /** Waits; tests pass a fake that advances a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** 0 <= random() < 1, for the jitter. */
  random?: () => number;
  log?: Logger;
  /** Overrides what is retryable (default: isRetryable). */
  retryOn?: (err: unknown) => boolean;
}

export const DEFAULT_RETRY = { maxAttempts: 6, maxTotalMs: 120_000, baseDelayMs: 1_000, maxDelayMs: 30_000 } as const;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
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

/** Errors as the SDKs shape them: RestError (statusCode, response.headers.get), azure-devops-node-api (statusCode, result, responseHeaders), fetch-like (status), Node (code). */
interface ErrorShape {
  statusCode?: unknown;
  status?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  response?: { status?: unknown; headers?: unknown };
  responseHeaders?: unknown;
}

function shape(err: unknown): ErrorShape | undefined {
  return err !== null && typeof err === 'object' ? (err as ErrorShape) : undefined;
}

/** The HTTP status an error carries, whatever library threw it. */
export function statusOf(err: unknown): number | undefined {
  const e = shape(err);
  if (!e) return undefined;
  for (const v of [e.statusCode, e.status, e.response?.status])
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
  // @kubernetes/client-node's ApiException carries the status as a numeric `code`.
  if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) return e.code;
  return undefined;
}

/** The network error code (ECONNRESET, ...) of an error or of any error in its cause chain. */
export function networkCodeOf(err: unknown): string | undefined {
  for (let e = shape(err), depth = 0; e && depth < 5; e = shape(e.cause), depth++) {
    if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return e.code;
    if (typeof e.message === 'string') {
      if (/socket hang up/i.test(e.message)) return 'socket hang up';
      const m = /\b(ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|ECONNABORTED)\b/.exec(e.message);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** True for 429, 500, 502, 503, 504 and connection resets/timeouts. */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return RETRYABLE_STATUS.has(status);
  return networkCodeOf(err) !== undefined;
}

function header(err: unknown, name: string): string | undefined {
  const e = shape(err);
  if (!e) return undefined;
  const lower = name.toLowerCase();
  const fromBag = (h: unknown): string | undefined => {
    if (!h || typeof h !== 'object') return undefined;
    const getter = (h as { get?: unknown }).get;
    if (typeof getter === 'function') {
      const v: unknown = getter.call(h, lower);
      if (typeof v === 'string') return v;
    }
    for (const [k, v] of Object.entries(h)) {
      if (k.toLowerCase() !== lower) continue;
      if (typeof v === 'string') return v;
      if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    }
    return undefined;
  };
  return fromBag(e.response?.headers) ?? fromBag(e.responseHeaders);
}

/**
 * The wait the server asked for, in ms: x-ms-retry-after-ms, retry-after-ms, or Retry-After
 * (delta seconds or an HTTP date, relative to `now`). Undefined when it asked for nothing.
 */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | undefined {
  for (const h of ['x-ms-retry-after-ms', 'retry-after-ms']) {
    const v = header(err, h);
    if (v !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.ceil(Number(v));
  }
  const ra = header(err, 'retry-after');
  if (ra === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

function reasonOf(err: unknown): string {
  const status = statusOf(err);
  if (status !== undefined) return String(status);
  return networkCodeOf(err) ?? (err instanceof Error ? err.message : String(err));
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) || s >= 10 ? `${Math.round(s)}s` : `${s.toFixed(1)}s`;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs calls under the policy. One instance per task run is enough; it has no per-call state.
 * `label` is what the log shows: "GET https://…/_apis/…" or "Git.createPush".
 */
export class RetryPolicy {
  readonly options: Required<Omit<RetryOptions, 'log'>> & { log?: Logger };

  constructor(options: RetryOptions = {}) {
    this.options = {
      maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      maxTotalMs: options.maxTotalMs ?? DEFAULT_RETRY.maxTotalMs,
      baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
      sleep: options.sleep ?? realSleep,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      retryOn: options.retryOn ?? isRetryable,
      ...(options.log ? { log: options.log } : {}),
    };
  }

  /** A copy with some options replaced (e.g. another logger, a smaller budget). */
  with(overrides: RetryOptions): RetryPolicy {
    return new RetryPolicy({ ...this.options, ...overrides });
  }

  async run<T>(label: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    const o = this.options;
    const started = o.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!o.retryOn(err)) throw err;
        const reason = reasonOf(err);
        const elapsed = o.now() - started;
        if (attempt >= o.maxAttempts) {
          o.log?.warn(`giving up on ${label} after ${reason}: ${attempt} attempts in ${formatDuration(elapsed)}`);
          throw err;
        }
        const asked = retryAfterMs(err, o.now());
        const wait = asked ?? this.backoff(attempt);
        if (elapsed + wait > o.maxTotalMs) {
          o.log?.warn(
            `giving up on ${label} after ${reason}: waiting ${formatDuration(wait)} more would exceed the ${formatDuration(o.maxTotalMs)} retry budget (${attempt} attempts in ${formatDuration(elapsed)})`,
          );
          throw err;
        }
        o.log?.info(
          `retrying ${label} after ${reason}, waiting ${formatDuration(wait)} (attempt ${attempt + 1}/${o.maxAttempts})`,
        );
        await o.sleep(wait);
      }
    }
  }

  /** Full jitter: uniform in [0, min(maxDelay, base * 2^(attempt-1))]. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.options.random() * ceiling);
  }
}

/** One-off form: `await withRetry('GET https://…', () => call(), { log })`. */
export function withRetry<T>(
  label: string,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions | RetryPolicy = {},
): Promise<T> {
  const policy = options instanceof RetryPolicy ? options : new RetryPolicy(options);
  return policy.run(label, fn);
}
