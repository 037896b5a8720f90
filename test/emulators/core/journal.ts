/**
 * The call journal: every request any emulated host served, in order. Tests ask it questions such
 * as "no writes since this mark" or "how many PUTs on federatedIdentityCredentials".
 */
export interface JournalEntry {
  seq: number;
  /** Emulated-clock time, ms. */
  at: number;
  service: string;
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  status: number;
  /** True when the request changed state (or would have, had it succeeded). */
  write: boolean;
  /** Set when a fault rule answered instead of the service. */
  fault?: string;
  durationMs: number;
  /** The public host name the request was sent to (through the edge, core/edge.ts); absent for 127.0.0.1. */
  host?: string;
}

export interface JournalFilter {
  service?: string;
  method?: string;
  /** Substring or regular expression matched against the path. */
  path?: string | RegExp;
  writesOnly?: boolean;
  /** Only entries after this mark (see Journal.mark()). */
  since?: number;
  /** Include requests answered by fault injection (default true). */
  includeFaults?: boolean;
}

export class Journal {
  private readonly list: JournalEntry[] = [];
  private seq = 0;

  record(e: Omit<JournalEntry, 'seq'>): JournalEntry {
    const entry = { ...e, seq: ++this.seq };
    this.list.push(entry);
    return entry;
  }

  /** A mark to query "since now" later. */
  mark(): number {
    return this.seq;
  }

  entries(f: JournalFilter = {}): JournalEntry[] {
    return this.list.filter(
      (e) =>
        (f.since === undefined || e.seq > f.since) &&
        (f.service === undefined || e.service === f.service) &&
        (f.method === undefined || e.method === f.method.toUpperCase()) &&
        (f.path === undefined || (typeof f.path === 'string' ? e.path.includes(f.path) : f.path.test(e.path))) &&
        (!f.writesOnly || e.write) &&
        (f.includeFaults !== false || !e.fault),
    );
  }

  /** Successful (status < 400) state-changing requests. */
  writes(f: JournalFilter = {}): JournalEntry[] {
    return this.entries({ ...f, writesOnly: true }).filter((e) => e.status < 400 && !e.fault);
  }

  count(f: JournalFilter = {}): number {
    return this.entries(f).length;
  }

  /** One line per entry, for test failure messages and `--journal` dumps. */
  format(f: JournalFilter = {}): string {
    return this.entries(f)
      .map(
        (e) =>
          `${e.seq} ${e.service} ${e.method} ${e.path}${e.query ? `?${e.query}` : ''} -> ${e.status}${e.write ? ' W' : ''}${e.fault ? ` [fault ${e.fault}]` : ''}`,
      )
      .join('\n');
  }
}
