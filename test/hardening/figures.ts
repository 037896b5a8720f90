/**
 * The hardening suites' figures: each suite records its rows here (one JSON file per suite under
 * .cache/hardening), and scripts/test.mjs prints them as one table when the run ends.
 *
 * HARDENING_FULL=1 (`npm run hardening -- --full`) runs the full sets; without it, CI-sized seed
 * sets. Seeds are fixed (HARDENING_SEED overrides the base seed), so every run is reproducible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FULL = process.env.HARDENING_FULL === '1';
export const BASE_SEED = Number(process.env.HARDENING_SEED ?? 20261203);
const DIR = path.resolve('.cache', 'hardening');

export interface FigureRow {
  suite: string;
  figure: string;
  value: string;
  goal: string;
  met: boolean;
}

/** Records a suite's rows (replacing its previous ones of the same set: CI-sized and full are kept apart). */
export function recordFigures(suite: string, rows: Omit<FigureRow, 'suite'>[]): void {
  fs.mkdirSync(DIR, { recursive: true });
  const body = { suite, full: FULL, seed: BASE_SEED, rows: rows.map((r) => ({ suite, ...r })) };
  fs.writeFileSync(path.join(DIR, `${suite}${FULL ? '.full' : ''}.json`), `${JSON.stringify(body, null, 2)}\n`);
}

/** mulberry32: the generator the emulated cloud's fault injection uses. */
export { prng } from '../emulators/core/faults';

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
