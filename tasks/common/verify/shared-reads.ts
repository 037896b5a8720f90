/**
 * Reads that every cluster of a fleet run would repeat with the same answer: the organization's
 * tenant, the project, the repository, the team and its subject descriptor. One run-scoped memo,
 * keyed by what the read depends on, so a fleet of one repository reads each once (the reads that
 * depend on the cluster's identity — service principal, licence, membership, ACL — stay per cluster).
 * A failed read is not kept: the next cluster asks again.
 */
export class SharedReads {
  private readonly memo = new Map<string, Promise<unknown>>();

  /** The value of `read` for `key`, read once per run (concurrent callers share the one request). */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const known = this.memo.get(key);
    if (known) return known as Promise<T>;
    const p = read();
    this.memo.set(key, p);
    p.catch(() => this.memo.delete(key));
    return p;
  }
}
