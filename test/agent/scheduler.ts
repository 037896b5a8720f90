/**
 * How Azure Pipelines schedules work: a stage or job starts as soon as everything it depends on
 * has finished, independent ones run at the same time, and each running job holds one agent of
 * the pool (`--parallel N`, the organization's parallel jobs) and, for a matrix, one of its
 * `maxParallel` slots. Slots are handed out first come, first served, so with one agent the run
 * follows the YAML order.
 */

export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  /** `slots` 0 or less: no limit. */
  constructor(readonly slots: number) {
    this.free = slots > 0 ? slots : Infinity;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  async with<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/**
 * Runs every node once all its `dependsOn` have finished, concurrently where the graph allows;
 * starts are in list order among the nodes that are ready. The graph was checked for cycles and
 * unknown names when the YAML was read. When a node throws (a YAML error found at run time), no
 * new node starts, the running ones finish, then the first error is thrown.
 */
export async function runGraph<N extends { name: string; dependsOn: string[] }, R>(
  nodes: N[],
  run: (node: N) => Promise<R>,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  const started = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const errors: unknown[] = [];
  while (results.size < nodes.length && errors.length === 0) {
    for (const n of nodes) {
      if (started.has(n.name) || !n.dependsOn.every((d) => results.has(d))) continue;
      started.add(n.name);
      running.set(
        n.name,
        run(n)
          .then(
            (r) => void results.set(n.name, r),
            (e: unknown) => void errors.push(e),
          )
          .finally(() => running.delete(n.name)),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  await Promise.all(running.values());
  if (errors.length) throw errors[0];
  return results;
}

/** Like Promise.all, but every promise settles before the first error is thrown. */
export async function allSettledOrThrow<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
