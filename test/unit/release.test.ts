// The version guard (scripts/version.ts check) and the bump it asks for: agents cache a task by
// version, so a bundle that changed under the same version must fail CI with the way out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRelease, planBump, type ReleaseRecord, type TaskPrint, type TreeState } from '../../scripts/lib/release';

const print = (version: string, files: Record<string, string> = { 'tasks/common/a.ts': 'h1' }): TaskPrint => ({
  version,
  files,
  dependencies: 'deps',
  manifest: 'm',
});
const record: ReleaseRecord = { extension: '1.0.1', tasks: { A: print('1.0.1'), B: print('1.0.1') } };
const tree = (tasks: Record<string, TaskPrint>, extension = '1.0.1', packageJson = extension): TreeState => ({
  extension,
  packageJson,
  tasks,
});

test('a tree that matches the release passes', () => {
  assert.deepEqual(checkRelease(record, tree({ A: print('1.0.1'), B: print('1.0.1') })), []);
});

test('a changed source without a bump fails, naming the task, the file and the command', () => {
  const problems = checkRelease(record, tree({ A: print('1.0.1', { 'tasks/common/a.ts': 'h2' }), B: print('1.0.1') }));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /tasks\/A: .*tasks\/common\/a\.ts.*still says 1\.0\.1; run npm run version:bump/);
});

test('each kind of change counts: a new file, a dependency, task.json', () => {
  const cases: [string, TaskPrint][] = [
    ['new file', print('1.0.1', { 'tasks/common/a.ts': 'h1', 'tasks/common/b.ts': 'x' })],
    ['dependency', { ...print('1.0.1'), dependencies: 'other' }],
    ['task.json', { ...print('1.0.1'), manifest: 'other' }],
  ];
  for (const [what, a] of cases) assert.equal(checkRelease(record, tree({ A: a, B: print('1.0.1') })).length, 1, what);
});

test('a bumped task needs the extension to move too, and package.json to follow it', () => {
  const bumped = tree({ A: print('1.0.2', { 'tasks/common/a.ts': 'h2' }), B: print('1.0.1') });
  assert.match(checkRelease(record, bumped).join('\n'), /extension version must move above 1\.0\.1/);
  assert.deepEqual(checkRelease(record, { ...bumped, extension: '1.0.2', packageJson: '1.0.2' }), []);
  assert.match(
    checkRelease(record, { ...bumped, extension: '1.0.2', packageJson: '1.0.0' }).join('\n'),
    /package\.json: version 1\.0\.0 differs/,
  );
});

test('the bump moves only what changed, and its record then passes the guard', () => {
  const changed = tree({ A: print('1.0.1', { 'tasks/common/a.ts': 'h2' }), B: print('1.0.1') });
  const plan = planBump(record, changed, 'patch');
  assert.equal(plan.tasks.A!.version, '1.0.2');
  assert.equal(plan.tasks.B!.version, '1.0.1');
  assert.equal(plan.extension, '1.0.2');
  const after = tree(plan.tasks, plan.extension);
  assert.deepEqual(checkRelease(plan.record, after), []);
  const minor = planBump(record, changed, 'minor');
  assert.equal(minor.tasks.A!.version, '1.1.0');
  assert.equal(minor.extension, '1.1.0');
});

test('a version going backwards fails', () => {
  assert.match(
    checkRelease(record, tree({ A: print('1.0.0'), B: print('1.0.1') })).join('\n'),
    /version 1\.0\.0 is below the released 1\.0\.1/,
  );
});
