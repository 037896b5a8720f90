/**
 * The emulated cloud's clock. Real time by default; tests can advance it so that token expiry,
 * Flux `spec.interval` reconciles and slow LROs happen without sleeping.
 *
 * It can also run faster than real time (`rate` emulated ms per real ms). The cloud does so when
 * the tasks it serves run with their waits scaled (FLUXOIDC_INTERNAL_TIMESCALE = 1 / rate, see
 * cloud.ts): a task that waits 1 s of its time waits 1 s of the cloud's, so time-based behaviour
 * (directory replication, token lifetimes) stays in step with the task's retries.
 */
export class Clock {
  private offsetMs = 0;
  private listeners: ((nowMs: number) => void)[] = [];
  private readonly startReal = Date.now();

  constructor(private readonly rate = 1) {
    if (!(rate >= 1)) throw new Error('the clock runs at real time or faster (rate >= 1)');
  }

  now(): number {
    const real = Date.now();
    return real + (real - this.startReal) * (this.rate - 1) + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  /**
   * Waits `ms` of emulated time: `ms` real ms at real time, `ms / rate` on a faster clock. For work the
   * emulated services hold open for a while (a write's duration), so a time-scaled task's retries
   * meet the same windows they would meet at real time.
   */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms / this.rate));
  }

  /** Moves emulated time forward and lets time-driven simulations (Flux intervals) catch up. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('the clock only moves forward');
    this.offsetMs += ms;
    for (const l of this.listeners) l(this.now());
  }

  onAdvance(listener: (nowMs: number) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== listener);
    };
  }
}
