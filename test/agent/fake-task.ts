/**
 * Builds a small real task for the agent-emulation and pipeline-runner tests: a task.json and a
 * TypeScript main bundled with esbuild exactly like the product's tasks (task-lib inlined, cjs,
 * node20), so the tests exercise the real `##vso` output of azure-pipelines-task-lib.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

export interface FakeTaskInput {
  name: string;
  type?: string;
  required?: boolean;
  defaultValue?: string;
  aliases?: string[];
}

export interface FakeTaskSpec {
  name: string;
  major?: number;
  inputs: FakeTaskInput[];
  /** The body of `async function run(tl)`; `tl` is azure-pipelines-task-lib/task. */
  body: string;
  instanceNameFormat?: string;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Writes `<tasksDir>/<name>/{task.json, main.js}` and returns the task folder. */
export async function createFakeTask(tasksDir: string, spec: FakeTaskSpec): Promise<string> {
  const dir = path.join(tasksDir, spec.name);
  const src = path.join(tasksDir, `.src-${spec.name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'task.json'),
    JSON.stringify(
      {
        id: '00000000-0000-4000-8000-000000000000',
        name: spec.name,
        friendlyName: `Fake ${spec.name}`,
        description: 'test task',
        category: 'Utility',
        author: 'tests',
        version: { Major: spec.major ?? 1, Minor: 0, Patch: 0 },
        instanceNameFormat: spec.instanceNameFormat ?? `Fake ${spec.name}`,
        inputs: spec.inputs.map((i) => ({ type: 'string', label: i.name, helpMarkDown: i.name, ...i })),
        execution: { Node20_1: { target: 'main.js' }, Node24: { target: 'main.js' } },
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(src, 'main.ts'),
    [
      "import * as path from 'node:path';",
      "import * as fs from 'node:fs';",
      "import * as tl from 'azure-pipelines-task-lib/task';",
      'void fs;',
      'async function run(): Promise<void> {',
      "  tl.setResourcePath(path.join(__dirname, 'task.json'));",
      spec.body,
      '}',
      'run().catch((e: Error) => tl.setResult(tl.TaskResult.Failed, e.message));',
    ].join('\n'),
  );
  await esbuild.build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: path.join(dir, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
    nodePaths: [path.join(REPO_ROOT, 'node_modules')],
  });
  fs.rmSync(src, { recursive: true, force: true });
  return dir;
}
