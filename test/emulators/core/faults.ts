/**
 * Fault injection, per service and route: throttling (429 + Retry-After), server errors, connection
 * resets and slow answers, by count ("the next 2 matching requests") or by seeded probability.
 * Service-specific faults (busy cluster, slow or failing LROs, expired tokens) live in the state
 * of the service that owns them.
 */
export type FaultKind = '429' | '500' | '502' | '503' | 'reset' | 'slow' | 'status';

export interface FaultRule {
  /** Service name as in the journal (e.g. "arm", "entra", "devops", "kube"), or "*". */
  service: string;
  method?: string;
  /** Substring or /regex/ (as a string "/.../") matched against the path. */
  path?: string;
  kind: FaultKind;
  /** Seconds, for 429/503. */
  retryAfter?: number;
  /** Milliseconds, for "slow". */
  delayMs?: number;
  /**
   * For "status": answer with this HTTP status and an error body carrying `code` and `message`
   * (e.g. the 409 a concurrent writer causes on another client's federated credential write).
   */
  status?: number;
  code?: string;
  message?: string;
  /** Fire for the first `count` matching requests (default: unlimited when probability is set, else 1). */
  count?: number;
  /** Fire with this probability per matching request (seeded). */
  probability?: number;
}

interface ActiveRule extends FaultRule {
  fired: number;
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pathMatches(rule: string | undefined, p: string): boolean {
  if (rule === undefined) return true;
  if (rule.length > 2 && rule.startsWith('/') && rule.endsWith('/')) return new RegExp(rule.slice(1, -1)).test(p);
  return p.includes(rule);
}

export class Faults {
  private rules: ActiveRule[] = [];
  private random: () => number;

  constructor(seed = 1) {
    this.random = prng(seed);
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, fired: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  seed(seed: number): void {
    this.random = prng(seed);
  }

  /** The rule that fires for this request, if any (and counts it). */
  match(service: string, method: string, path: string): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.service !== '*' && r.service !== service) continue;
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (!pathMatches(r.path, path)) continue;
      const limit = r.count ?? (r.probability !== undefined ? Infinity : 1);
      if (r.fired >= limit) continue;
      if (r.probability !== undefined && this.random() >= r.probability) continue;
      r.fired++;
      return r;
    }
    return undefined;
  }
}
