/**
 * The agent emulation: a bundled task started the way the agent starts it, its `##vso` output
 * parsed into what the agent would record (result, outputs, secrets masked in the log, attachments,
 * summary), and the product's real bundles judged the same way.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBundledTask, staleBuild } from '../agent/agent';
import { createFakeTask } from '../agent/fake-task';
import { parseLine } from '../agent/vso';

const root = path.resolve(import.meta.dirname, '..', '..');
let work: string;
let kitchenSink: string;
let crashes: string;
let hangs: string;

const ENDPOINT = {
  ENDPOINT_URL_conn1: 'https://127.0.0.1:9/',
  ENDPOINT_AUTH_conn1: JSON.stringify({
    scheme: 'ServicePrincipal',
    parameters: { serviceprincipalid: 'app-id-1', serviceprincipalkey: 'sp-key-very-secret', tenantid: 'tenant-1' },
  }),
  ENDPOINT_AUTH_SCHEME_conn1: 'ServicePrincipal',
  ENDPOINT_AUTH_PARAMETER_conn1_SERVICEPRINCIPALKEY: 'sp-key-very-secret',
  ENDPOINT_AUTH_PARAMETER_conn1_TENANTID: 'tenant-1',
};

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-test-'));
  kitchenSink = await createFakeTask(work, {
    name: 'KitchenSink',
    inputs: [
      { name: 'target', required: true },
      { name: 'mode', defaultValue: 'plan' },
      { name: 'connection', aliases: ['conn'] },
      { name: 'workdir', defaultValue: '$(Build.SourcesDirectory)/sub' },
    ],
    body: `
      console.log('workdir=' + tl.getInput('workdir'));
      const target = tl.getInput('target', true)!;
      const conn = tl.getInput('connection', true)!;
      tl.setSecret('hunter2-secret');
      console.log('hello ' + target + ' mode=' + tl.getInput('mode') + ' secret=hunter2-secret');
      console.log('##[group]Details');
      console.log('inside the group');
      console.log('##[endgroup]');
      tl.setVariable('plainOut', 'a;b]c%d', false, true);
      tl.setVariable('secretOut', 'tok-123', true, true);
      tl.setVariable('local', 'x');
      tl.warning('careful now');
      tl.setProgress(50, 'half way');
      const tmp = tl.getVariable('Agent.TempDirectory')!;
      fs.writeFileSync(path.join(tmp, 'report.json'), '{"ok":true}');
      tl.addAttachment('flux-oidc-report', 'report.json', path.join(tmp, 'report.json'));
      fs.writeFileSync(path.join(tmp, 'summary.md'), '# Summary\\nall good');
      tl.uploadSummary(path.join(tmp, 'summary.md'));
      console.log('echo token=tok-123 key=' + tl.getEndpointAuthorizationParameter(conn, 'serviceprincipalkey', false) + ' tenant=' + tl.getEndpointAuthorizationParameter(conn, 'tenantid', false));
      tl.setResult(tl.TaskResult.Succeeded, 'done with ' + target);
    `,
  });
  crashes = await createFakeTask(work, { name: 'Crashes', inputs: [], body: "console.log('bye'); process.exit(0);" });
  hangs = await createFakeTask(work, {
    name: 'Hangs',
    inputs: [],
    body: 'await new Promise(() => setInterval(() => {}, 1000));',
  });
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

test('a task run is parsed the way the agent records it', async () => {
  const cwd = fs.mkdtempSync(path.join(work, 'sources-'));
  const run = await runBundledTask({
    taskDir: kitchenSink,
    inputs: { target: 'fleet', conn: 'conn1' },
    env: ENDPOINT,
    cwd,
    timeoutMs: 60_000,
  });
  assert.equal(run.harnessError, undefined);
  assert.equal(run.result, 'Succeeded');
  assert.equal(run.message, 'done with fleet');
  // Output variables, with the characters the protocol escapes (; ] %) round-tripped.
  assert.deepEqual(run.outputs, { plainOut: 'a;b]c%d', secretOut: 'tok-123' });
  assert.deepEqual(run.variables.local, { value: 'x', isOutput: false, isSecret: false });
  assert.deepEqual(run.issues, [{ type: 'warning', message: 'careful now' }]);
  assert.ok(run.commands.some((c) => c.kind === 'setprogress' && c.percent === 50 && c.message === 'half way'));
  assert.ok(run.commands.some((c) => c.kind === 'format' && c.type === 'group' && c.text === 'Details'));
  assert.deepEqual(
    run.attachments.map((a) => [a.type, a.name, a.content]),
    [['flux-oidc-report', 'report.json', '{"ok":true}']],
  );
  assert.deepEqual(
    run.summaries.map((s) => s.content),
    ['# Summary\nall good'],
  );
  // The log as the user sees it: defaults and aliases applied, secrets masked, commands consumed.
  assert.match(run.log, /hello fleet mode=plan secret=\*\*\*/);
  assert.ok(run.log.includes(`workdir=${cwd}/sub`), 'macros in input defaults are expanded, as the agent does');
  assert.match(
    run.log,
    /echo token=\*\*\* key=\*\*\* tenant=tenant-1/,
    'setsecret, secret outputs and endpoint secrets are masked; tenantid is not a secret',
  );
  assert.match(run.log, /##\[warning\]careful now/);
  assert.match(run.log, /##\[group\]Details\ninside the group/);
  for (const leaked of ['hunter2-secret', 'tok-123', 'sp-key-very-secret', '##vso['])
    assert.ok(!run.log.includes(leaked), `${leaked} is in the log`);
  assert.ok(
    run.secrets.includes('hunter2-secret') &&
      run.secrets.includes('tok-123') &&
      run.secrets.includes('sp-key-very-secret'),
  );
});

test('a missing required input fails through task.complete, naming the input', async () => {
  const run = await runBundledTask({ taskDir: kitchenSink, inputs: {}, timeoutMs: 60_000 });
  assert.equal(run.harnessError, undefined);
  assert.equal(run.result, 'Failed');
  assert.equal(run.exitCode, 0, 'task-lib exits 0 on failure: only task.complete tells');
  assert.ok(
    run.issues.some((i) => i.type === 'error' && i.message.includes('target')),
    JSON.stringify(run.issues),
  );
  assert.match(run.log, /##\[error\].*target/);
});

test('a task that exits without task.complete is a harness error, not a success', async () => {
  const run = await runBundledTask({ taskDir: crashes, timeoutMs: 60_000 });
  assert.equal(run.result, 'Failed');
  assert.match(run.harnessError ?? '', /without printing ##vso\[task\.complete\]/);
  assert.match(run.log, /##\[error\]Harness:/);
});

test('a task that does not end is killed at the timeout', async () => {
  const run = await runBundledTask({ taskDir: hangs, timeoutMs: 1500 });
  assert.equal(run.result, 'Failed');
  assert.equal(run.timedOut, true);
  assert.match(run.harnessError ?? '', /timed out/);
});

test('##vso lines are parsed as the agent parses them', () => {
  const cases: [string, unknown][] = [
    [
      '##vso[task.setvariable variable=x;isOutput=true;issecret=false;]v%AZP25%3B%0Aw',
      { kind: 'setvariable', name: 'x', value: 'v%;\nw', isOutput: true, isSecret: false, isReadOnly: false },
    ],
    [
      'prefix text ##vso[task.complete result=SucceededWithIssues;]half',
      { kind: 'complete', result: 'SucceededWithIssues', message: 'half' },
    ],
    ['##vso[task.complete]', { kind: 'complete', result: 'Succeeded', message: '' }],
    [
      '##vso[task.issue type=error;source=TaskInternal;]Input required: x',
      {
        kind: 'logissue',
        type: 'error',
        message: 'Input required: x',
        properties: { type: 'error', source: 'TaskInternal' },
      },
    ],
    [
      '##vso[task.logissue type=warning;sourcepath=a%5Db.ts]w',
      { kind: 'logissue', type: 'warning', message: 'w', properties: { type: 'warning', sourcepath: 'a]b.ts' } },
    ],
    [
      '##vso[task.setendpoint id=e1;field=authParameter;key=AccessToken]tok',
      { kind: 'setendpoint', id: 'e1', field: 'authParameter', key: 'AccessToken', value: 'tok' },
    ],
    [
      '##vso[task.prependpath]/opt/bin',
      { kind: 'other', area: 'task', event: 'prependpath', properties: {}, data: '/opt/bin' },
    ],
    ['##[section]Starting', { kind: 'format', type: 'section', text: 'Starting' }],
    ['##vso[taskcomplete]x', undefined],
    ['plain line', undefined],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseLine(line), expected, line);
});

/** The product's tasks: every tasks/<Task> with a main.ts is built to dist/tasks/<Task> (npm test builds first). */
const PRODUCT_TASKS = fs
  .readdirSync(path.join(root, 'tasks'))
  .filter((d) => fs.existsSync(path.join(root, 'tasks', d, 'main.ts')))
  .sort();
const DIST = path.join(root, 'dist', 'tasks');

test("the product's bundles: the built folder holds task.json as in the sources, the bundle, the icon, nothing else", () => {
  assert.ok(PRODUCT_TASKS.length >= 3, `tasks with a main.ts: ${PRODUCT_TASKS.join(', ')}`);
  for (const name of PRODUCT_TASKS) {
    const dir = path.join(DIST, name);
    assert.ok(fs.existsSync(path.join(dir, 'task.json')), `${dir} is missing: npm run build (npm test builds first)`);
    assert.equal(
      fs.readFileSync(path.join(dir, 'task.json'), 'utf8'),
      fs.readFileSync(path.join(root, 'tasks', name, 'task.json'), 'utf8'),
      `dist/tasks/${name}/task.json differs from the source: npm run build`,
    );
    const { target } = (
      JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8')) as {
        execution: { Node20_1: { target: string } };
      }
    ).execution.Node20_1;
    const files = fs.readdirSync(dir).sort();
    assert.ok(files.includes(target), `dist/tasks/${name} has no ${target}`);
    assert.deepEqual(
      files.filter((f) => !['task.json', 'icon.png', target, `${target}.LEGAL.txt`].includes(f)),
      [],
      `dist/tasks/${name} holds files that are not needed at run time`,
    );
    assert.equal(staleBuild(dir), undefined, 'the bundle is as new as its sources');
  }
});

test("the product's bundles: a missing required input fails the task and names the input", async (t) => {
  for (const name of PRODUCT_TASKS) {
    await t.test(name, async () => {
      const task = JSON.parse(fs.readFileSync(path.join(DIST, name, 'task.json'), 'utf8')) as {
        inputs: { name: string; required?: boolean; defaultValue?: unknown }[];
      };
      const required = task.inputs
        .filter((i) => i.required && (i.defaultValue === undefined || i.defaultValue === ''))
        .map((i) => i.name);
      assert.ok(required.length > 0, `${name} has no required input without a default: the case needs another input`);
      const run = await runBundledTask({ taskDir: path.join(DIST, name), inputs: {}, timeoutMs: 60_000 });
      assert.equal(run.harnessError, undefined, run.log);
      assert.equal(run.result, 'Failed');
      const errors = run.issues
        .filter((i) => i.type === 'error')
        .map((i) => i.message)
        .join('\n');
      assert.ok(
        required.some((r) => errors.includes(r)),
        `the error should name one of ${required.join(', ')}:\n${errors}`,
      );
    });
  }
});

test('a bundle older than one of its sources is refused with what changed and how to rebuild', () => {
  // A throwaway repository layout (touching the real sources would make everyone's build stale).
  const fake = fs.mkdtempSync(path.join(work, 'repo-'));
  const taskDir = path.join(fake, 'dist', 'tasks', 'T');
  fs.mkdirSync(taskDir, { recursive: true });
  fs.mkdirSync(path.join(fake, 'tasks', 'common'), { recursive: true });
  fs.writeFileSync(
    path.join(taskDir, 'task.json'),
    JSON.stringify({ name: 'T', execution: { Node20_1: { target: 'main.js' } } }),
  );
  fs.writeFileSync(path.join(taskDir, 'main.js'), '');
  fs.writeFileSync(path.join(fake, 'tasks', 'common', 'a.ts'), '');
  fs.writeFileSync(path.join(fake, 'dist', 'build-inputs.json'), JSON.stringify({ T: ['tasks/common/a.ts'] }));
  const at = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);
  at(path.join(fake, 'tasks', 'common', 'a.ts'), 1_000);
  at(path.join(taskDir, 'main.js'), 2_000);
  assert.equal(staleBuild(taskDir, fake), undefined, 'built after its sources');
  at(path.join(fake, 'tasks', 'common', 'a.ts'), 3_000);
  assert.equal(staleBuild(taskDir, fake), 'tasks/common/a.ts changed after dist/tasks/T/main.js was built');
  fs.writeFileSync(path.join(fake, 'dist', 'build-inputs.json'), '{}');
  assert.match(staleBuild(taskDir, fake) ?? '', /build-inputs\.json does not list T/);
  assert.equal(staleBuild(kitchenSink, fake), undefined, 'folders outside dist/tasks (fake tasks) are not checked');
});
