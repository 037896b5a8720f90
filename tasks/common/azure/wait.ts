/** Waiting, injectable so unit tests never sleep for real. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Full jitter: a random wait in [base/2, base], so concurrent writers spread out. */
export function jitter(baseMs: number, random: () => number = Math.random): number {
  return Math.round(baseMs / 2 + random() * (baseMs / 2));
}
