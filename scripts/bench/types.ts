/**
 * The benchmark's extension point: each module under scripts/bench/ exports one BenchEntry, and
 * scripts/bench/index.ts lists them in the order the table shows them. A new benchmark (e.g. the
 * 1,000-folder manifest patch) is a new module plus one line in index.ts.
 */
export interface BenchContext {
  /** Repository root. */
  root: string;
  /** dist/ (built tasks and the .vsix). */
  dist: string;
  /** Built task folders, dist/tasks/<Task>, that have a bundle. */
  taskDirs: string[];
  /** Timed repetitions per measurement (BENCH_RUNS, default 7); report the median. */
  runs: number;
  /** Progress to stderr (the table goes to stdout). */
  log(message: string): void;
}

export interface BenchRow {
  metric: string;
  value: number;
  unit: 'bytes' | 'ms' | 'count';
  /** How it was measured, spread, caveats. */
  detail?: string;
}

export interface BenchEntry {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
