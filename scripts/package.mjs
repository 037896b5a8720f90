// npm run package (after the build): the .vsix, offline, with tfx-cli.
//
// The package root is dist/: build.mjs writes dist/tasks/<Task>/ (bundle, task.json, icon); this
// script adds the manifest, overview.md and images/ next to it and runs tfx with --root dist.
// (tfx validates each task contribution's task.json at <root>/<properties.name> and checks that
// its execution target exists there, so the root must hold the built tasks, not the sources.)
// Any tfx warning fails the packaging: tfx says its warnings will become errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listZip } from './lib/zip.mjs';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'vss-extension.json'), 'utf8'));

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

// Every task contribution must be built; `shipped` lists the files each task folder must carry.
const taskNames = manifest.contributions
  .filter((c) => c.type === 'ms.vss-distributed-task.task')
  .map((c) => c.properties.name);
const shipped = new Map();
for (const name of taskNames) {
  const dir = path.join(dist, name);
  if (!fs.existsSync(path.join(dir, 'task.json')))
    fail(
      `${path.relative(root, dir)}/task.json is missing: run npm run build (does tasks/${path.basename(name)}/main.ts exist?)`,
    );
  const task = JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8'));
  const targets = new Set();
  for (const [handler, { target }] of Object.entries(task.execution)) {
    if (!fs.existsSync(path.join(dir, target)))
      fail(`${path.relative(root, dir)}/${target} (execution.${handler}.target) is missing: run npm run build`);
    targets.add(target);
  }
  shipped.set(name, ['task.json', 'icon.png', ...targets]);
}

// Stage the non-task files into the package root.
fs.copyFileSync(path.join(root, 'vss-extension.json'), path.join(dist, 'vss-extension.json'));
fs.copyFileSync(path.join(root, 'overview.md'), path.join(dist, 'overview.md'));
fs.mkdirSync(path.join(dist, 'images'), { recursive: true });
// images/: the icon and the Marketplace screenshots (npm run screenshots), every one the manifest names.
const images = [manifest.icons.default, ...(manifest.screenshots ?? []).map((s) => s.path)];
for (const image of images) {
  if (!fs.existsSync(path.join(root, image))) fail(`${image} (named in vss-extension.json) is missing`);
  fs.copyFileSync(path.join(root, image), path.join(dist, image));
}
for (const old of fs.readdirSync(dist).filter((f) => f.endsWith('.vsix'))) fs.rmSync(path.join(dist, old));

const tfx = path.join(root, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
const res = spawnSync(
  process.execPath,
  [
    tfx,
    'extension',
    'create',
    '--root',
    dist,
    '--manifest-globs',
    'vss-extension.json',
    '--output-path',
    dist,
    '--no-prompt',
    '--no-color',
    '--json',
  ],
  { cwd: root, encoding: 'utf8', env: { ...process.env, TFX_TRACE: '' } },
);
const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
const warnings = output.split('\n').filter((l) => /warn/i.test(l));
if (res.status !== 0) fail(`tfx failed (exit ${res.status}):\n${output}`);
if (warnings.length) fail(`tfx reported warnings (treated as errors):\n${warnings.join('\n')}`);

const vsix = fs
  .readdirSync(dist)
  .filter((f) => f.endsWith('.vsix'))
  .map((f) => path.join(dist, f))[0];
if (!vsix) fail(`tfx wrote no .vsix:\n${output}`);

// What is inside: the three tasks, no node_modules, nothing from the sources.
const entries = listZip(vsix);
const names = entries.map((e) => e.name);
const bad = names.filter((n) => /(^|\/)node_modules\//.test(n) || n.endsWith('.ts') || n.endsWith('.map'));
if (bad.length) fail(`${path.basename(vsix)} contains files that must not ship:\n${bad.join('\n')}`);
for (const [name, files] of shipped) {
  for (const f of files) {
    if (!names.includes(`${name}/${f}`)) fail(`${path.basename(vsix)} lacks ${name}/${f}`);
  }
}
for (const f of ['web/index.html', 'web/main.js', 'web/style.css', 'web/THIRD-PARTY-NOTICES.txt', ...images]) {
  if (!names.includes(f)) fail(`${path.basename(vsix)} lacks ${f}`);
}
const size = fs.statSync(vsix).size;
const unpacked = entries.reduce((n, e) => n + e.size, 0);
console.log(
  `${path.relative(root, vsix)}  ${(size / 1024).toFixed(0)} KB (${size} bytes; ${entries.length} files, ${(unpacked / 1024).toFixed(0)} KB unpacked)`,
);
