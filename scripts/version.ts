// The version guard and the version bump.
//
//   npm run version:check                 fails when a task's bundle changed without a version bump
//   npm run version:bump [-- minor|major]   bumps the tasks whose bundle changed since the release in release.json
//   npm run version:release                records the tree as released (on publishing)
//
// A task's fingerprint is what esbuild reads to bundle it (the metafile's inputs, without writing
// anything): each repository source by its own hash, the dependencies together, and task.json
// without its version. See scripts/lib/release.ts for the rules.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { checkRelease, formatVersion, parseVersion, planBump } from './lib/release';
import type { ReleaseRecord, TaskPrint, TreeState } from './lib/release';

const root = path.resolve(import.meta.dirname, '..');
const recordFile = path.join(root, 'release.json');
const sha = (buf: Buffer | string): string => crypto.createHash('sha256').update(buf).digest('hex');
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));

function taskNames(): string[] {
  return fs
    .readdirSync(path.join(root, 'tasks'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, 'tasks', d.name, 'main.ts')))
    .map((d) => d.name)
    .sort();
}

async function fingerprint(name: string): Promise<TaskPrint> {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join('tasks', name, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: 'out.js',
  });
  const manifestPath = `tasks/${name}/task.json`;
  const files: Record<string, string> = {};
  const deps = crypto.createHash('sha256');
  for (const input of Object.keys(result.metafile.inputs).sort()) {
    if (input === manifestPath) continue;
    const content = fs.readFileSync(path.join(root, input));
    if (input.includes('node_modules/')) deps.update(input).update(sha(content));
    else files[input] = sha(content);
  }
  const { version, ...rest } = readJson(manifestPath);
  return {
    version: formatVersion(version),
    files,
    dependencies: deps.digest('hex'),
    manifest: sha(JSON.stringify(rest)),
  };
}

async function current(): Promise<TreeState> {
  const tasks: Record<string, TaskPrint> = {};
  for (const name of taskNames()) tasks[name] = await fingerprint(name);
  return { extension: readJson('vss-extension.json').version, packageJson: readJson('package.json').version, tasks };
}

function writeVersions(plan: { extension: string; tasks: Record<string, TaskPrint>; record: ReleaseRecord }): void {
  for (const [name, t] of Object.entries(plan.tasks)) {
    const file = path.join(root, 'tasks', name, 'task.json');
    const text = fs.readFileSync(file, 'utf8');
    const [Major, Minor, Patch] = parseVersion(t.version);
    const next = text.replace(
      /"version":\s*\{[^}]*\}/,
      `"version": {\n    "Major": ${Major},\n    "Minor": ${Minor},\n    "Patch": ${Patch}\n  }`,
    );
    if (next !== text) fs.writeFileSync(file, next);
  }
  for (const file of ['vss-extension.json', 'package.json']) {
    const p = path.join(root, file);
    const text = fs.readFileSync(p, 'utf8');
    fs.writeFileSync(p, text.replace(/^(\s*"version":\s*)"[^"]*"/m, `$1"${plan.extension}"`));
  }
}

async function main(): Promise<number> {
  const [command = 'check', level = 'patch'] = process.argv.slice(2);
  const record: ReleaseRecord = fs.existsSync(recordFile)
    ? JSON.parse(fs.readFileSync(recordFile, 'utf8'))
    : { extension: '0.0.0', tasks: {} };
  const now = await current();
  if (command === 'check') {
    const problems = checkRelease(record, now);
    for (const p of problems) console.error(`version guard: ${p}`);
    if (problems.length) return 1;
    console.log(
      `version guard: ok (extension ${now.extension}; ${Object.entries(now.tasks)
        .map(([n, t]) => `${n} ${t.version}`)
        .join(', ')})`,
    );
  } else if (command === 'release') {
    // Records the tree as released: the next change to a bundle needs a higher version again.
    const problems = checkRelease(record, now);
    if (problems.length) {
      for (const p of problems) console.error(`version guard: ${p}`);
      return 1;
    }
    fs.writeFileSync(recordFile, JSON.stringify(planBump(record, now, level).record, null, 2) + '\n');
    console.log(`release.json: extension ${now.extension} recorded`);
  } else if (command === 'bump') {
    const plan = planBump(record, now, level);
    writeVersions(plan);
    console.log(`extension ${record.extension} -> ${plan.extension}`);
    for (const [n, t] of Object.entries(plan.tasks))
      console.log(`${n.padEnd(20)} ${record.tasks?.[n]?.version ?? '-'} -> ${t.version}`);
  } else {
    console.error('usage: node --import tsx scripts/version.ts check | bump [patch|minor|major] | release');
    return 2;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
