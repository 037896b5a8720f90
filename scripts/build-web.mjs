// The build-results tab: web/ -> dist/web/ = index.html + main.js (one minified browser bundle
// with the Azure DevOps extension SDK and the Build REST client) + style.css + the bundled
// packages' licences (THIRD-PARTY-NOTICES.txt), nothing else.
// The tab's sources are typechecked with web/tsconfig.json (DOM types; the root config has none).
//
//   node scripts/build-web.mjs [--outdir DIR] [--no-typecheck]
//
// Also importable: `await buildWeb({ outdir, typecheck })` (scripts/build.mjs runs it with the tasks).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const webSrc = path.join(root, 'web');

/** The bundle must stay small: it loads every time someone opens the tab. */
export const MAIN_JS_BUDGET = 96 * 1024;

// azure-devops-extension-api imports the whatwg-fetch polyfill (for IE11) from its fetch wrapper.
// Every browser Azure DevOps supports has fetch, so it is left out.
const noFetchPolyfill = {
  name: 'no-fetch-polyfill',
  setup(build) {
    build.onResolve({ filter: /^whatwg-fetch$/ }, () => ({ path: 'whatwg-fetch', namespace: 'empty' }));
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
  },
};

function typecheckWeb() {
  return new Promise((resolve) => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const child = spawn(process.execPath, [tsc, '-p', path.join(webSrc, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    child.on('close', (code) => resolve({ ok: code === 0, out: out.trim() }));
  });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** The name, version and licence text of each npm package that went into the bundle. */
function notices(metafile) {
  const pkgs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) pkgs.add(m[1]);
  }
  const parts = [...pkgs].sort().map((name) => {
    const dir = path.join(root, 'node_modules', name);
    const { version, license } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const file = fs.readdirSync(dir).find((f) => /^licen[cs]e(\.|$)/i.test(f));
    if (!file) throw new Error(`build-web: ${name} is bundled into web/main.js but has no LICENSE file to ship`);
    const text = fs
      .readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .map((l) => l.replace(/^ {4}/, '').trimEnd())
      .join('\n')
      .trim();
    return `${name} ${version} (${license})\n\n${text}\n`;
  });
  return `The Flux OIDC results tab (main.js) includes these packages:\n\n${parts.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

/**
 * Builds the tab into `outdir` (default dist/web), replacing it whole: whoever serves the folder
 * meanwhile sees the old build or the new one. Throws with the esbuild/tsc messages on failure.
 */
export async function buildWeb({ outdir = path.join(root, 'dist', 'web'), typecheck = true, log = console.log } = {}) {
  const check = typecheck ? typecheckWeb() : Promise.resolve({ ok: true, out: '' });
  const staging = `${outdir}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: { main: path.join(webSrc, 'src', 'main.ts'), style: path.join(webSrc, 'style.css') },
      outdir: staging,
      bundle: true,
      platform: 'browser',
      target: 'es2020',
      format: 'iife',
      minify: true,
      sourcemap: false,
      legalComments: 'external',
      plugins: [noFetchPolyfill],
      logLevel: 'silent',
      metafile: true,
    });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    await check;
    const errors = e.errors?.map((x) => `${x.text}${x.location ? ` (${x.location.file}:${x.location.line})` : ''}`) ?? [
      String(e),
    ];
    throw new Error(`build-web: esbuild failed:\n${errors.join('\n')}`, { cause: e });
  }
  fs.copyFileSync(path.join(webSrc, 'index.html'), path.join(staging, 'index.html'));
  // The minified SDK files carry no licence comments: ship the licence of every bundled package.
  for (const f of fs.readdirSync(staging)) {
    if (f.endsWith('.LEGAL.txt')) fs.rmSync(path.join(staging, f));
  }
  fs.writeFileSync(path.join(staging, 'THIRD-PARTY-NOTICES.txt'), notices(result.metafile));

  const { ok, out } = await check;
  if (!ok) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`build-web: tsc -p web failed:\n${out}`);
  }
  const main = fs.readFileSync(path.join(staging, 'main.js'));
  if (main.length > MAIN_JS_BUDGET) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `build-web: main.js is ${kb(main.length)}, over its ${kb(MAIN_JS_BUDGET)} budget (did an import pull in a whole API area?)`,
    );
  }
  const old = `${outdir}.old-${process.pid}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, old);
  fs.renameSync(staging, outdir);
  fs.rmSync(old, { recursive: true, force: true });

  const files = fs.readdirSync(outdir).sort();
  log(
    `web${' '.repeat(17)} main.js ${kb(main.length).padStart(9)}  (gzip ${kb(zlib.gzipSync(main, { level: 9 }).length)}); ${files.join(', ')}${typecheck ? '; typecheck passed' : ''}`,
  );
  return { outdir, files };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = at >= 0 ? path.resolve(args[at + 1] ?? '') : undefined;
  buildWeb({ ...(outdir ? { outdir } : {}), typecheck: !args.includes('--no-typecheck') }).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
