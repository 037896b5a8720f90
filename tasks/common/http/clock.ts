/**
 * Time, injectable: every wait of the product (retry backoff, Retry-After, polling, LRO poll
 * intervals) goes through a Clock, so unit tests pass a fake one and the bundled tasks can run
 * with their waits scaled down in end-to-end tests.
 *
 * The time scale is an internal pipeline variable, FluxOidc.Internal.TimeScale (environment
 * FLUXOIDC_INTERNAL_TIMESCALE), that only the local emulated agent sets (test/agent). Production
 * pipelines never set it; when unset (or not a number in (0, 1]) every wait is real. A scaled
 * clock sleeps `ms * scale` but advances its own `now()` by the full `ms`, so budgets and
 * deadlines keep their meaning: a task that would give up after 20 minutes of waits still does,
 * after 20 minutes of emulated time.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The pipeline variable (not a task input) that scales every wait; internal, for the local agent only. */
export const TIME_SCALE_VARIABLE = 'FluxOidc.Internal.TimeScale';

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: realSleep };

/** 1 unless `value` is a number in (0, 1]: the variable can only shorten waits, never lengthen them. */
export function parseTimeScale(value: string | undefined): number {
  if (value === undefined || !/^\s*(0|1)?(\.\d+)?\s*$/.test(value)) return 1;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 && n <= 1 ? n : 1;
}

/** A clock whose sleeps take `scale` of the time asked, while its `now()` moves by the full time asked. */
export function scaledClock(scale: number, base: Clock = systemClock): Clock {
  if (scale === 1) return base;
  let skipped = 0;
  return {
    now: () => base.now() + skipped,
    async sleep(ms, signal) {
      await base.sleep(ms * scale, signal);
      skipped += ms * (1 - scale);
    },
  };
}
