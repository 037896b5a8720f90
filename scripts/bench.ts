/**
 * npm run bench (after build + package): one table of the numbers that matter to users of the
 * extension: what the agent downloads (.vsix, bundles) and how long each task takes to start.
 * Timings are medians of BENCH_RUNS runs (default 7); the machine is shared, so compare runs made
 * on the same machine only. Entries live in scripts/bench/ (see index.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchmarks } from './bench/index';
import { targetOf } from './bench/targets';
import type { BenchContext, BenchRow } from './bench/types';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const tasksDir = path.join(dist, 'tasks');
const taskDirs = fs.existsSync(tasksDir)
  ? fs
      .readdirSync(tasksDir)
      .map((d) => path.join(tasksDir, d))
      .filter((d) => fs.existsSync(path.join(d, 'task.json')))
      .sort()
  : [];
const runs = Number(process.env.BENCH_RUNS ?? 7);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
const only = process.argv.slice(2);

const ctx: BenchContext = { root, dist, taskDirs, runs, log: (m) => process.stderr.write(`  ${m}\n`) };

function human(row: BenchRow): string {
  if (row.unit === 'ms') return `${row.value.toFixed(0)} ms`;
  if (row.unit === 'count') return String(row.value);
  if (row.value >= 1024 * 1024) return `${(row.value / 1024 / 1024).toFixed(2)} MB`;
  return `${(row.value / 1024).toFixed(0)} KB`;
}

async function main(): Promise<number> {
  const rows: BenchRow[] = [];
  let failed = false;
  for (const b of benchmarks) {
    if (only.length && !only.some((o) => b.name.includes(o))) continue;
    process.stderr.write(`${b.name}...\n`);
    try {
      rows.push(...(await b.run(ctx)));
    } catch (e) {
      failed = true;
      rows.push({ metric: b.name, value: NaN, unit: 'ms', detail: `FAILED: ${(e as Error).message}` });
    }
  }

  const table = [
    ['metric', 'value', 'target', 'detail'],
    ...rows.map((r) => [r.metric, Number.isNaN(r.value) ? '-' : human(r), targetOf(r.metric), r.detail ?? '']),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    `| ${r[0].padEnd(widths[0])} | ${r[1].padStart(widths[1])} | ${r[2].padEnd(widths[2])} | ${r[3]} |`;
  console.log(
    `\nBenchmark (node ${process.version}, ${os.cpus().length} CPU, ${os.platform()}; ${runs} runs per timing)\n`,
  );
  console.log(line(table[0]));
  console.log(`|${'-'.repeat(widths[0] + 2)}|${'-'.repeat(widths[1] + 1)}:|${'-'.repeat(widths[2] + 2)}|---|`);
  for (const r of table.slice(1)) console.log(line(r));
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
