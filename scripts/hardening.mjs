// npm run hardening [-- --full]: the hardening suites (manifest fuzzing, bad-input catalogue,
// chaos and secret scan) and their figures table. Without --full: the CI-sized seed sets that
// `npm test` also runs; with --full: the full sets (HARDENING_FULL=1). HARDENING_SEED=<n> changes
// the base seed (every run with the same seed is the same run).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const full = process.argv.includes('--full');
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const r = spawnSync(process.execPath, ['scripts/test.mjs', 'integration/hardening-', 'e2e/hardening-'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...(full ? { HARDENING_FULL: '1' } : {}) },
});
process.exit(r.status ?? 1);
