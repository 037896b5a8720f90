// npm run build: typecheck the whole tree (tsc, strict) and bundle each task with esbuild into
// dist/tasks/<Task>/ = the file named by execution.Node20_1.target + task.json + icon.png, nothing
// else (no node_modules: the .vsix ships only what runs), and the build-results tab into dist/web/.
// tsc and esbuild run at the same time.
//
//   node scripts/build.mjs [--no-typecheck]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { buildWeb } from './build-web.mjs';

const root = path.resolve(import.meta.dirname, '..');
const tasksSrc = path.join(root, 'tasks');
const tasksOut = path.join(root, 'dist', 'tasks');
const typecheck = !process.argv.includes('--no-typecheck');

function typecheckAsync() {
  return new Promise((resolve) => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const child = spawn(process.execPath, [tsc, '-p', root, '--pretty', 'false'], {
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

/** Task folders: tasks/<Name>/task.json (tasks/common is the shared core, not a task). */
function taskFolders() {
  return fs
    .readdirSync(tasksSrc, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(tasksSrc, d.name, 'task.json')))
    .map((d) => d.name)
    .sort();
}

function targetOf(name) {
  const task = JSON.parse(fs.readFileSync(path.join(tasksSrc, name, 'task.json'), 'utf8'));
  const targets = new Set(Object.values(task.execution ?? {}).map((h) => h.target));
  if (targets.size !== 1)
    throw new Error(
      `tasks/${name}/task.json: every execution handler must name the same target (found ${[...targets].join(', ') || 'none'})`,
    );
  const [target] = targets;
  if (!target.endsWith('.js') || target.includes('/'))
    throw new Error(`tasks/${name}/task.json: the target must be a .js file next to task.json, got ${target}`);
  return target;
}

function assertNoNodeModules(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules')
      throw new Error(`${path.join(dir, entry.name)}: node_modules must not be shipped; bundle instead`);
    if (entry.isDirectory()) assertNoNodeModules(path.join(dir, entry.name));
  }
}

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

/**
 * Start-up patches to bundled third-party code: exact text replacements that keep behaviour and
 * only skip work. Each must match exactly once per file, else the build fails (an SDK upgrade
 * changed the code: re-check the patch, drop it if upstream fixed it).
 */
const SOURCE_PATCHES = [
  {
    // Every Azure SDK request runs formDataPolicy, which evaluates `typeof FormData`: on Node 20
    // the first touch of that global loads Node's internal fetch implementation (undici), tens of
    // milliseconds before the first request (cold start profile, issue 15). A native FormData
    // body has the toStringTag "FormData" (also subclasses), so that cheap test goes first and
    // the global is touched only for a body that may be one. Same result for every body.
    file: /[\\/]@typespec[\\/]ts-http-runtime[\\/]dist[\\/](esm|commonjs)[\\/]formData\.js$/,
    find: 'typeof FormData !== "undefined" && body instanceof FormData',
    replace:
      'body !== null && typeof body === "object" && body[Symbol.toStringTag] === "FormData" && typeof FormData !== "undefined" && body instanceof FormData',
  },
];

const sourcePatches = {
  name: 'source-patches',
  setup(build) {
    const seen = new Set();
    for (const [i, patch] of SOURCE_PATCHES.entries()) {
      build.onLoad({ filter: patch.file }, async (args) => {
        const text = await fs.promises.readFile(args.path, 'utf8');
        const parts = text.split(patch.find);
        if (parts.length !== 2)
          return {
            errors: [
              { text: `source patch ${i}: expected "${patch.find}" once in ${args.path}, found ${parts.length - 1}` },
            ],
          };
        seen.add(i);
        return { contents: parts.join(patch.replace), loader: 'js' };
      });
    }
    build.onEnd((result) => {
      if (result.errors.length) return;
      for (const [i, patch] of SOURCE_PATCHES.entries())
        if (!seen.has(i))
          result.errors.push({ text: `source patch ${i}: no bundled file matched ${patch.file} (drop or update it)` });
    });
  },
};

/**
 * dist/build-inputs.json: the repository's own source files (not node_modules) each bundle was
 * built from, so the test harness can tell a bundle older than its sources (test/agent/agent.ts).
 * Outside dist/tasks: it is not part of any task folder nor of the .vsix.
 */
function writeBuildInputs(metafile, names) {
  const inputs = {};
  for (const [out, meta] of Object.entries(metafile?.outputs ?? {})) {
    const name = names.find((n) => out.split(/[\\/]/).includes(n));
    if (!name || !meta.entryPoint) continue;
    inputs[name] = Object.keys(meta.inputs)
      .filter((f) => !f.includes('node_modules'))
      .sort();
  }
  const file = path.join(root, 'dist', 'build-inputs.json');
  fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(inputs, null, 2) + '\n');
  fs.renameSync(`${file}.${process.pid}`, file);
}

/**
 * whatwg-url -> scripts/shims/whatwg-url.mjs (why: see the shim). Checked on every build: the only
 * importer is node-fetch, and every use it makes is the `Url.URL || whatwgUrl.URL` fallback.
 */
const nodeFetchUrl = {
  name: 'node-fetch-url',
  setup(build) {
    build.onResolve({ filter: /^whatwg-url$/ }, async (args) => {
      const fail = (why) => ({ errors: [{ text: `whatwg-url shim: ${why} (scripts/build.mjs)` }] });
      if (!/[\\/]node-fetch[\\/]lib[\\/]index\.js$/.test(args.importer))
        return fail(`${args.importer} imports whatwg-url; only node-fetch's fallback is shimmed`);
      const text = await fs.promises.readFile(args.importer, 'utf8');
      const uses = text.match(/whatwgUrl\.\w+/g) ?? [];
      const fallbacks = text.split('Url.URL || whatwgUrl.URL').length - 1;
      if (!uses.length || fallbacks !== uses.length)
        return fail(`${args.importer} uses whatwg-url beyond the Url.URL fallback: ${uses.join(', ')}`);
      return { path: path.join(root, 'scripts', 'shims', 'whatwg-url.mjs') };
    });
  },
};

/**
 * Packages whose import has no side effects, so esbuild may drop them where no binding of theirs
 * is used (it keeps them where one is). @kubernetes/client-node's cp.js imports both for its Cp
 * class, which the tasks never use: without this mark tar-fs, tar-stream and streamx (~50 KB)
 * stay in the Provision and Verify bundles as dead code.
 */
const SIDE_EFFECT_FREE = ['tar-fs', 'stream-buffers'];

const sideEffectFree = {
  name: 'side-effect-free',
  setup(build) {
    const filter = new RegExp(`^(${SIDE_EFFECT_FREE.join('|')})$`);
    build.onResolve({ filter }, async (args) => {
      if (args.pluginData?.sideEffectFree) return undefined;
      const { path: resolved, errors } = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { sideEffectFree: true },
      });
      return errors.length ? { errors } : { path: resolved, sideEffects: false };
    });
  },
};

async function main() {
  const started = performance.now();
  const check = typecheck ? typecheckAsync() : Promise.resolve({ ok: true, out: '' });

  const names = taskFolders();
  const bundled = names.filter((n) => fs.existsSync(path.join(tasksSrc, n, 'main.ts')));
  const missing = names.filter((n) => !bundled.includes(n));
  // Built into a staging folder and swapped in at the end: whoever runs a task from dist/tasks
  // meanwhile (a test, npm start) sees the old build or the new one, never a half-written one.
  const staging = path.join(root, 'dist', `.tasks-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });

  // One esbuild call for all tasks: shared parsing work, one process.
  const entryPoints = Object.fromEntries(
    bundled.map((n) => [`${n}/${targetOf(n).replace(/\.js$/, '')}`, path.join(tasksSrc, n, 'main.ts')]),
  );
  const result = bundled.length
    ? await esbuild
        .build({
          absWorkingDir: root,
          entryPoints,
          outdir: staging,
          bundle: true,
          platform: 'node',
          target: 'node20',
          format: 'cjs',
          minify: true,
          sourcemap: false,
          // Third-party licence comments go to <target>.LEGAL.txt next to the bundle, shipped with it.
          legalComments: 'external',
          logLevel: 'silent',
          metafile: true,
          plugins: [sourcePatches, nodeFetchUrl, sideEffectFree],
        })
        .catch((e) => ({ errors: e.errors ?? [{ text: String(e) }], warnings: e.warnings ?? [] }))
    : { errors: [], warnings: [] };
  for (const w of result.warnings)
    console.warn(`esbuild warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  if (result.errors.length) {
    for (const e of result.errors)
      console.error(`esbuild error: ${e.text}${e.location ? ` (${e.location.file}:${e.location.line})` : ''}`);
    fs.rmSync(staging, { recursive: true, force: true });
    await check;
    process.exit(1);
  }

  for (const n of bundled) {
    const out = path.join(staging, n);
    fs.copyFileSync(path.join(tasksSrc, n, 'task.json'), path.join(out, 'task.json'));
    const icon = path.join(tasksSrc, n, 'icon.png');
    if (!fs.existsSync(icon)) throw new Error(`tasks/${n}/icon.png is missing (node scripts/make-icon.mjs)`);
    fs.copyFileSync(icon, path.join(out, 'icon.png'));
    const bundle = fs.readFileSync(path.join(out, targetOf(n)));
    console.log(
      `${n.padEnd(20)} ${targetOf(n)} ${kb(bundle.length).padStart(8)}  (gzip ${kb(zlib.gzipSync(bundle, { level: 9 }).length)})`,
    );
  }
  for (const n of missing) console.log(`${n.padEnd(20)} not bundled: tasks/${n}/main.ts does not exist yet`);
  assertNoNodeModules(staging);
  const old = path.join(root, 'dist', `.tasks-old-${process.pid}`);
  if (fs.existsSync(tasksOut)) fs.renameSync(tasksOut, old);
  fs.renameSync(staging, tasksOut);
  fs.rmSync(old, { recursive: true, force: true });
  assertNoNodeModules(path.join(root, 'dist'));
  writeBuildInputs(result.metafile, bundled);

  // The build-results tab (dist/web); its own typecheck (web/tsconfig.json, DOM types) runs inside.
  try {
    await buildWeb({ typecheck });
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    await check;
    process.exit(1);
  }

  const { ok, out } = await check;
  if (!ok) {
    console.error(`\ntsc -p . failed:\n${out}`);
    process.exit(1);
  }
  console.log(
    `build: ${bundled.length} task(s) bundled${typecheck ? ', typecheck passed' : ', typecheck skipped'} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
