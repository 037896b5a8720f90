// npm test (after the build): runs test/**/*.test.ts with node's built-in runner.
//
//   node scripts/test.mjs [area] [-- extra node --test options]
//   node scripts/test.mjs unit          only test/unit/**
//   node scripts/test.mjs e2e/agent     only test/e2e/agent*
//
// It prepares the emulated cloud's test CA once in .cache/test-ca and starts the runner with
// NODE_EXTRA_CA_CERTS pointing at it: Node reads that variable only at process start, so tests
// that talk HTTPS to the emulators need it set before they start. FLUX_OIDC_TEST_CA_DIR tells
// startCloud() to reuse the same CA. Node 20's --test has no glob support: files are listed here.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const sep = args.indexOf('--');
const extra = sep >= 0 ? args.slice(sep + 1) : [];
const filters = (sep >= 0 ? args.slice(0, sep) : args).filter((a) => !a.startsWith('-'));
const passthrough = (sep >= 0 ? args.slice(0, sep) : args).filter((a) => a.startsWith('-'));

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const all = findTests(path.join(root, 'test'))
  .map((f) => path.relative(root, f))
  .sort();
const files = filters.length
  ? all.filter((f) => filters.some((flt) => f.startsWith(`test/${flt.replace(/^test\//, '')}`)))
  : all;
if (!files.length) {
  console.error(`no test files match ${filters.join(', ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}

// The CA: reused while valid for at least a day more, recreated otherwise.
const caDir = path.join(root, '.cache', 'test-ca');
const caCert = path.join(caDir, 'ca.crt');
if (fs.existsSync(caCert)) {
  const validTo = new Date(new crypto.X509Certificate(fs.readFileSync(caCert)).validTo);
  if (validTo.getTime() - Date.now() < 24 * 3600 * 1000) fs.rmSync(caDir, { recursive: true, force: true });
}
const { loadOrCreateTestCa } = await tsImport('../test/emulators/core/tls.ts', import.meta.url);
loadOrCreateTestCa(caDir);

// The results-tab tests' Chromium (test/web/browser.ts): unpacked here once, before test files run
// in parallel, and reported so a run's log says which browser it used.
if (files.some((f) => f.startsWith('test/web/'))) {
  const { chromiumBinary } = await tsImport('../test/web/browser.ts', import.meta.url);
  const bin = await chromiumBinary();
  console.log(`chromium: ${bin.path} (${bin.source})`);
}

const started = Date.now();
console.log(`node --test: ${files.length} file(s)${filters.length ? ` under ${filters.join(', ')}` : ''}`);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...passthrough, ...extra, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCert, FLUX_OIDC_TEST_CA_DIR: caDir },
  },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('close', (code, signal) => {
  printFigures();
  process.exit(code ?? (signal ? 1 : 0));
});

/** The hardening suites' figures (test/hardening/figures.ts) of this run, as one table. */
function printFigures() {
  const dir = path.join(root, '.cache', 'hardening');
  if (!fs.existsSync(dir)) return;
  const rows = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.json')) continue;
    const p = path.join(dir, f);
    if (fs.statSync(p).mtimeMs < started) continue; // from an earlier run
    const body = JSON.parse(fs.readFileSync(p, 'utf8'));
    for (const r of body.rows) rows.push({ ...r, set: body.full ? 'full' : 'CI' });
  }
  if (!rows.length) return;
  const cols = ['suite', 'set', 'figure', 'value', 'goal', 'met'];
  const cell = (r, c) => (c === 'met' ? (r.met ? 'yes' : 'NO') : String(r[c]));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals) => `| ${vals.map((v, i) => v.padEnd(width[i])).join(' | ')} |`;
  console.log(`\nHardening figures\n${line(cols)}\n${line(width.map((w) => '-'.repeat(w)))}`);
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
}
