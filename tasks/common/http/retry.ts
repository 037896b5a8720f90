/**
 * The one retry policy, used by every client of the product: the Azure SDK pipelines (ARM clients,
 * the pipeline's OIDC token request: the policy takes the place of the SDK's retry policy, see
 * azure.ts), @azure/identity's token requests (through the HTTP client), azure-devops-node-api
 * (devops.ts), raw Azure DevOps calls and the Kubernetes client. Conflict loops (a busy cluster,
 * concurrent federated-credential writes, a push that lost a race, an identity not replicated
 * yet) use the same policy with their own `retryOn`; pollers use `poll`.
 *
 * Retries: 408, 429, 500, 502, 503, 504 and connection failures (ECONNRESET, ETIMEDOUT, ...),
 * read by errorInfo() (errors.ts) from status and code, never from message text. Waits what the
 * server asks (Retry-After in seconds or as an HTTP date, x-ms-retry-after-ms), otherwise
 * exponential backoff with full jitter. Bounded by attempts AND by total time; when the server
 * asks for a wait that does not fit the budget it gives up at once with the server's error. One
 * log line per retry. Waits go through an injectable clock (clock.ts).
 */
import type { Logger } from '../log';
import { errorInfo, retryAfterMs } from './errors';
import { systemClock, type Clock } from './clock';

export { errorInfo, isStatus, retryAfterMs, statusOf, type ErrorInfo } from './errors';

export interface RetryOptions {
  /** Total attempts including the first (default 6). */
  maxAttempts?: number;
  /** Budget for the whole call including waits, in ms (default 120 000). */
  maxTotalMs?: number;
  /** First backoff ceiling in ms (default 1 000); doubles per attempt. */
  baseDelayMs?: number;
  /** Largest single backoff wait in ms (default 30 000). Server-requested waits are not capped by it, only by the budget. */
  maxDelayMs?: number;
  /** Waits; tests pass a fake that advances a fake clock (or a whole `clock`). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** Sets sleep and now at once (a scaled clock in end-to-end runs, see clock.ts). */
  clock?: Clock;
  /** 0 <= random() < 1, for the jitter. */
  random?: () => number;
  log?: Logger;
  /** Overrides what is retryable (default: isRetryable). */
  retryOn?: (err: unknown) => boolean;
}

export const DEFAULT_RETRY = { maxAttempts: 6, maxTotalMs: 120_000, baseDelayMs: 1_000, maxDelayMs: 30_000 } as const;

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** True for 408, 429, 500, 502, 503, 504 and connection resets/timeouts (no answer at all). */
export function isRetryable(err: unknown): boolean {
  const info = errorInfo(err);
  if (info.status !== undefined) return RETRYABLE_STATUS.has(info.status);
  return info.network !== undefined;
}

function reasonOf(err: unknown): string {
  const info = errorInfo(err);
  const what = info.code ?? info.typeKey;
  if (info.status !== undefined) return `${info.status}${what ? ` ${what}` : ''}`;
  return info.network ?? info.code ?? info.typeKey ?? (err instanceof Error ? err.name : 'error');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) || s >= 10 ? `${Math.round(s)}s` : `${s.toFixed(1)}s`;
}

/**
 * Runs calls under the policy. One instance per task run is enough; it has no per-call state.
 * `label` is what the log shows: "GET https://…/_apis/…" or "Git.createPush".
 */
export class RetryPolicy {
  readonly options: Required<Omit<RetryOptions, 'log' | 'clock'>> & { log?: Logger };

  constructor(options: RetryOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.options = {
      maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      maxTotalMs: options.maxTotalMs ?? DEFAULT_RETRY.maxTotalMs,
      baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
      sleep: options.sleep ?? clock.sleep,
      now: options.now ?? clock.now,
      random: options.random ?? Math.random,
      retryOn: options.retryOn ?? isRetryable,
      ...(options.log ? { log: options.log } : {}),
    };
  }

  /** A copy with some options replaced (e.g. another logger, a smaller budget). */
  with(overrides: RetryOptions): RetryPolicy {
    const base: RetryOptions = { ...this.options };
    if (overrides.clock) {
      delete base.sleep;
      delete base.now;
    }
    return new RetryPolicy({ ...base, ...overrides });
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
        const of = Number.isFinite(o.maxAttempts) && o.maxAttempts < 1000 ? `/${o.maxAttempts}` : '';
        o.log?.info(`retrying ${label} after ${reason}, waiting ${formatDuration(wait)} (attempt ${attempt + 1}${of})`);
        await o.sleep(wait);
      }
    }
  }

  /** The policy's clock: what pollers and LRO intervals wait on. */
  get clock(): Clock {
    return { now: this.options.now, sleep: this.options.sleep };
  }

  /**
   * Polls until `check` returns a value (not undefined), waiting `intervalMs` (doubling up to
   * `maxIntervalMs`) between checks, for at most `timeoutMs` of waiting. Returns undefined when the
   * time is up; `onWait` says in the log why it waits (called before each wait).
   */
  async poll<T>(
    check: (attempt: number) => Promise<T | undefined>,
    o: {
      intervalMs: number;
      maxIntervalMs?: number;
      /** Growth of the interval per wait (default 2). */
      factor?: number;
      timeoutMs: number;
      onWait?: (waitMs: number, attempt: number) => void;
    },
  ): Promise<T | undefined> {
    const started = this.options.now();
    let interval = o.intervalMs;
    for (let attempt = 1; ; attempt++) {
      const v = await check(attempt);
      if (v !== undefined) return v;
      const left = o.timeoutMs - (this.options.now() - started);
      if (left <= 0) return undefined;
      const wait = Math.min(interval, left);
      o.onWait?.(wait, attempt);
      await this.options.sleep(wait);
      interval = Math.min(Math.round(interval * (o.factor ?? 2)), o.maxIntervalMs ?? interval);
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
