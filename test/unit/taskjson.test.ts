/**
 * The task manifests and the extension manifest, as the Marketplace, tfx and the agent read them:
 * every task.json valid against the task-lib schema, the rules tfx and the UI enforce
 * (friendlyName length, GUIDs, names), the house rules (helpMarkDown on every input, Node20_1 +
 * Node24, shared inputs) and the versioning rule. Sources only: what the build makes of them
 * (dist/tasks) is checked by test/e2e/agent.test.ts, which runs after the build.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv04 from 'ajv-draft-04';
import Ajv from 'ajv';

const root = path.resolve(import.meta.dirname, '..', '..');
const readJson = <T = Record<string, unknown>>(p: string): T => JSON.parse(fs.readFileSync(p, 'utf8')) as T;

interface Input {
  name: string;
  properties?: Record<string, string>;
  type: string;
  label: string;
  required?: boolean;
  defaultValue?: string | boolean;
  helpMarkDown?: string;
  groupName?: string;
  visibleRule?: string;
  options?: Record<string, string>;
  aliases?: string[];
}
interface TaskJson {
  $schema?: string;
  id: string;
  name: string;
  friendlyName: string;
  description: string;
  helpMarkDown?: string;
  author?: string;
  category: string;
  version: { Major: number; Minor: number; Patch: number };
  minimumAgentVersion?: string;
  instanceNameFormat: string;
  groups?: { name: string }[];
  inputs?: Input[];
  outputVariables?: { name: string; description?: string }[];
  execution: Record<string, { target: string }>;
}

const TASKS = ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'];
const sourceTasks = fs
  .readdirSync(path.join(root, 'tasks'))
  .filter((d) => fs.existsSync(path.join(root, 'tasks', d, 'task.json')))
  .sort();

const taskSchema = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false }).compile(
  readJson(path.join(root, 'test', 'fixtures', 'tasks.schema.json')),
);
const manifestSchema = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(
  readJson(path.join(root, 'test', 'fixtures', 'vss-extension.schema.json')),
);

const versionTuple = (v: string): number[] => v.split('.').map(Number);
function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

test('the three task folders exist', () => {
  assert.deepEqual(sourceTasks, [...TASKS].sort());
});

for (const name of sourceTasks) {
  test(`tasks/${name}/task.json validates against tasks.schema.json`, () => {
    const ok = taskSchema(readJson(path.join(root, 'tasks', name, 'task.json')));
    assert.ok(ok, `tasks/${name}/task.json: ${JSON.stringify(taskSchema.errors, null, 2)}`);
  });
}

for (const name of sourceTasks) {
  const task = readJson<TaskJson>(path.join(root, 'tasks', name, 'task.json'));

  test(`${name}: identity, names and handlers`, () => {
    assert.match(
      task.$schema ?? '',
      /tasks\.schema\.json$/,
      'the $schema line keeps editors from using the VS Code tasks schema',
    );
    assert.equal(task.name, name, 'task name = folder name (the YAML reference and the dist folder use it)');
    assert.match(
      task.id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      'id must be a (v4) GUID',
    );
    assert.ok(
      task.friendlyName.length >= 1 && task.friendlyName.length <= 40,
      `friendlyName is ${task.friendlyName.length} characters; tfx allows 1-40`,
    );
    assert.equal(task.category, 'Deploy');
    assert.ok(task.description && task.helpMarkDown && task.author && task.instanceNameFormat);
    assert.deepEqual(Object.keys(task.execution).sort(), ['Node20_1', 'Node24']);
    assert.equal(task.execution.Node20_1.target, task.execution.Node24.target, 'both handlers run the same bundle');
    assert.ok(
      compareVersions(versionTuple(task.minimumAgentVersion ?? '0'), [4, 248, 0]) >= 0,
      'Node20_1 needs agent 4.248.0 or later',
    );
  });

  test(`${name}: every input has a label and helpMarkDown, groups exist, names are unique`, () => {
    const groups = new Set((task.groups ?? []).map((g) => g.name));
    assert.ok(groups.size > 0, 'the task declares its input groups');
    const seen = new Set<string>();
    for (const input of task.inputs ?? []) {
      assert.ok(input.helpMarkDown && input.helpMarkDown.trim().length > 10, `input ${input.name} has no helpMarkDown`);
      assert.ok(input.label.trim(), `input ${input.name} has no label`);
      if (input.groupName)
        assert.ok(groups.has(input.groupName), `input ${input.name}: group ${input.groupName} is not declared`);
      for (const n of [input.name, ...(input.aliases ?? [])]) {
        assert.ok(!seen.has(n.toLowerCase()), `input name or alias ${n} is used twice`);
        seen.add(n.toLowerCase());
      }
      if (input.type === 'pickList' || input.type === 'radio') {
        assert.ok(input.options && Object.keys(input.options).length, `input ${input.name} has no options`);
        const props = input.properties ?? {};
        const multi = props.MultiSelect === 'True' || props.MultiSelectFlatList === 'True';
        const editable = props.EditableOptions === 'True';
        if (typeof input.defaultValue === 'string' && input.defaultValue && !editable) {
          for (const v of multi ? input.defaultValue.split(',').map((x) => x.trim()) : [input.defaultValue]) {
            assert.ok(v in input.options!, `input ${input.name}: default ${v} is not an option`);
          }
        }
      }
    }
  });

  test(`${name}: the shared inputs (mode, azureSubscription)`, () => {
    const mode = task.inputs?.find((i) => i.name === 'mode');
    assert.ok(mode, 'every task has mode');
    assert.equal(mode.type, 'pickList');
    assert.deepEqual(Object.keys(mode.options ?? {}).sort(), ['apply', 'plan']);
    assert.equal(mode.defaultValue, 'apply');
    const sub = task.inputs?.find((i) => i.name === 'azureSubscription');
    assert.ok(sub, 'every task can use an Azure Resource Manager connection');
    assert.equal(sub.type, 'connectedService:AzureRM');
    if (name === 'FluxManifestPatch') {
      assert.notEqual(sub.required, true, 'FluxManifestPatch needs the connection only for gitAuth: serviceConnection');
      assert.equal(sub.visibleRule, 'gitAuth = serviceConnection');
    } else {
      assert.equal(sub.required, true);
    }
  });

  test(`${name}: output variables are declared`, () => {
    const expected: Record<string, string[]> = {
      FluxOidcProvision: [
        'clientId',
        'principalId',
        'tenantId',
        'identityResourceId',
        'oidcIssuerUrl',
        'federatedCredentialNames',
        'teamId',
      ],
      FluxManifestPatch: ['changed', 'changedFiles', 'commitId', 'pullRequestId', 'pullRequestUrl'],
      FluxOidcVerify: ['verified', 'failedChecks', 'reportPath'],
    };
    const names = (task.outputVariables ?? []).map((o) => o.name);
    for (const o of expected[name] ?? []) assert.ok(names.includes(o), `output ${o} is not declared`);
    for (const o of task.outputVariables ?? []) assert.ok(o.description, `output ${o.name} has no description`);
  });

  test(`${name}: icon is a PNG`, () => {
    pngSize(path.join(root, 'tasks', name, 'icon.png'));
  });
}

test('task ids are unique', () => {
  const ids = sourceTasks.map((n) => readJson<TaskJson>(path.join(root, 'tasks', n, 'task.json')).id.toLowerCase());
  assert.equal(new Set(ids).size, ids.length);
});

test('vss-extension.json validates and contributes exactly the three tasks (and the pages of its web contributions)', () => {
  const manifest = readJson<{
    version: string;
    icons: { default: string };
    content: { details: { path: string } };
    screenshots?: { path: string }[];
    files: { path: string; packagePath?: string }[];
    contributions: { id: string; type: string; targets: string[]; properties: { name: string; uri?: string } }[];
    targets: { id: string }[];
    categories: string[];
  }>(path.join(root, 'vss-extension.json'));
  assert.ok(manifestSchema(manifest), JSON.stringify(manifestSchema.errors, null, 2));
  assert.deepEqual(manifest.categories, ['Azure Pipelines']);
  assert.deepEqual(manifest.targets, [{ id: 'Microsoft.VisualStudio.Services' }]);
  const taskContribs = manifest.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task');
  assert.deepEqual(taskContribs.map((c) => c.properties.name).sort(), TASKS.map((t) => `tasks/${t}`).sort());
  for (const c of taskContribs) assert.deepEqual(c.targets, ['ms.vss-distributed-task.tasks']);
  // files: only what runs (the built task folders, the folder of each web contribution's page),
  // the icon, the overview and the Marketplace screenshots.
  const pages = [
    ...new Set(manifest.contributions.flatMap((c) => (c.properties.uri ? [c.properties.uri.split('/')[0]!] : []))),
  ];
  const files = manifest.files.map((f) => f.packagePath ?? f.path).sort();
  assert.deepEqual(
    files,
    [
      ...TASKS.map((t) => `tasks/${t}`),
      ...pages,
      manifest.icons.default,
      manifest.content.details.path,
      ...(manifest.screenshots ?? []).map((s) => s.path),
    ].sort(),
  );
  assert.deepEqual(
    pngSize(path.join(root, manifest.icons.default)),
    { width: 128, height: 128 },
    'the Marketplace icon is 128x128',
  );
  assert.ok(
    fs.readFileSync(path.join(root, manifest.content.details.path), 'utf8').length > 200,
    'overview.md is the Marketplace page',
  );
});

test('versioning: the extension version is at least every task version', () => {
  // A changed task ships only when the extension is republished with a higher version; agents
  // cache tasks by id + version, so the task's own version must be bumped too (README: Versioning).
  const ext = versionTuple(readJson<{ version: string }>(path.join(root, 'vss-extension.json')).version);
  for (const name of sourceTasks) {
    const v = readJson<TaskJson>(path.join(root, 'tasks', name, 'task.json')).version;
    assert.ok(
      compareVersions(ext, [v.Major, v.Minor, v.Patch]) >= 0,
      `${name} is ${v.Major}.${v.Minor}.${v.Patch} but vss-extension.json is ${ext.join('.')}: bump the extension version`,
    );
    assert.ok(v.Major >= 1, `${name}: Major is the @N in pipelines (FluxOidcProvision@1)`);
  }
});
