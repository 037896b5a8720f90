import { toJson } from './markdown';
import {
  REPORT_SCHEMA,
  type FieldChange,
  type Mode,
  type Report,
  type ReportCheck,
  type ReportCluster,
  type ReportResource,
  type TaskResultKind,
} from './model';

const REDACTED = '***';

/**
 * `text` with every secret replaced by `***`, longest first (so a secret that contains another
 * cannot leave a tail). The one masking rule of the product: log lines, the report, test platforms.
 */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of longestFirst(secrets)) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** Secret sets only grow: the sorted list is kept per set and rebuilt when its size changes. */
const sortedSecrets = new WeakMap<object, { size: number; list: string[] }>();

function longestFirst(secrets: Iterable<string>): string[] {
  const sort = () => [...secrets].filter(Boolean).sort((a, b) => b.length - a.length);
  if (!(secrets instanceof Set)) return sort();
  const known = sortedSecrets.get(secrets);
  if (known?.size === secrets.size) return known.list;
  const list = sort();
  sortedSecrets.set(secrets, { size: secrets.size, list });
  return list;
}

/**
 * Collects a run's report. Every string that goes in is redacted against the registered secrets
 * when the report is built (a secret may be registered after text containing it was added), so a
 * secret value can never come out of `build()`, `toJson()` or the markdown.
 */
export class ReportBuilder {
  private readonly secrets = new Set<string>();
  private readonly report: Report;

  constructor(task: string, version: string, mode: Mode = 'plan', now: () => Date = () => new Date()) {
    this.now = now;
    this.report = {
      schema: REPORT_SCHEMA,
      task,
      version,
      mode,
      started: now().toISOString(),
      resources: [],
      checks: [],
      outputs: {},
      warnings: [],
      errors: [],
    };
  }

  private readonly now: () => Date;

  /** Values that must never appear in the report (tokens, assertions, keys, kubeconfigs). */
  registerSecret(value: string): void {
    if (value) this.secrets.add(value);
    // Multi-line secrets (PEM keys, kubeconfigs) are also masked line by line, like the agent does.
    for (const line of value.split(/\r?\n/))
      if (line.trim().length >= 8 && line !== value) this.secrets.add(line.trim());
  }

  setMode(mode: Mode): void {
    this.report.mode = mode;
  }

  get mode(): Mode {
    return this.report.mode;
  }

  resource(r: {
    kind: string;
    name: string;
    action: ReportResource['action'];
    status: ReportResource['status'];
    changes?: FieldChange[];
    note?: string;
  }): void {
    this.report.resources.push({
      kind: r.kind,
      name: r.name,
      action: r.action,
      status: r.status,
      changes: r.changes ?? [],
      ...(r.note ? { note: r.note } : {}),
    });
  }

  check(c: ReportCheck): void {
    this.report.checks.push({ ...c });
  }

  /** A cluster's section of a fleet run (its checks; the run's summary check is added separately). */
  cluster(c: ReportCluster): void {
    (this.report.clusters ??= []).push({ ...c, checks: c.checks.map((x) => ({ ...x })) });
  }

  /** A non-secret output variable (secret outputs are never recorded). */
  output(name: string, value: string): void {
    this.report.outputs[name] = value;
  }

  warning(message: string): void {
    this.report.warnings.push(message);
  }

  error(message: string): void {
    this.report.errors.push(message);
  }

  /** True when a check failed: such a run fails (see runTask). */
  hasFailedChecks(): boolean {
    return this.report.checks.some((c) => c.status === 'fail');
  }

  hasWarnings(): boolean {
    return this.report.warnings.length > 0 || this.report.checks.some((c) => c.status === 'warn');
  }

  /** Sets the final result; call once at the end of the run. */
  finish(result: TaskResultKind, message?: string): void {
    this.report.result = result;
    if (message !== undefined) this.report.message = message;
    this.report.finished = this.now().toISOString();
  }

  /** A redacted deep copy of the report. */
  build(): Report {
    return this.redact(structuredClone(this.report));
  }

  toJson(): string {
    return toJson(this.build());
  }

  /** Replaces every registered secret in a string. */
  redactText(text: string): string {
    return maskSecrets(text, this.secrets);
  }

  private redact<T>(value: T): T {
    if (typeof value === 'string') return this.redactText(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redact(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.redactText(k)] = this.redact(v);
      return out as T;
    }
    return value;
  }
}
