/**
 * The emulated cloud's clock. Real time by default; tests can advance it so that token expiry,
 * Flux `spec.interval` reconciles and slow LROs happen without sleeping.
 */
export class Clock {
  private offsetMs = 0;
  private listeners: ((nowMs: number) => void)[] = [];

  now(): number {
    return Date.now() + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  iso(): string {
    return new Date(this.now()).toISOString();
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
