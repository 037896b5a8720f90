/**
 * The local runner keeps its word about cloud state (issue 12, item 9): `--dump-state` then
 * `--state` continues where the run stopped, Git history included (commit ids, branches); a state
 * file takes every fault kind the scenarios README documents; an unusable state file stops the CLI
 * with exit code 2 and a message naming the field, never a stack trace.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPipeline } from '../agent/pipeline';
import { startCloud } from '../emulators/cloud';

const root = path.resolve(import.meta.dirname, '..', '..');
let work: string;
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-state-'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

async function runIn(cloud: Awaited<ReturnType<typeof startCloud>>, yaml: string) {
  let printed = '';
  const r = await runPipeline({
    yaml,
    file: path.join(work, 'state.yml'),
    cloud,
    print: (t) => {
      printed += t;
    },
  });
  assert.equal(r.result, 'Succeeded', printed);
  return r;
}

test('a dumped state continues where the run stopped: commits and branches survive, nothing is re-seeded', async () => {
  const first = await startCloud({ scenario: 'fresh' });
  let dumped: string;
  let pushed: string;
  try {
    const r = await runIn(
      first,
      `
steps:
- checkout: self
  persistCredentials: true
- bash: |
    set -e
    git -c user.name=ci -c user.email=ci@example.invalid commit -q --allow-empty -m "run 1 was here"
    git push -q origin HEAD:refs/heads/main HEAD:refs/heads/run-1
    echo "##vso[task.setvariable variable=commit;isOutput=true]$(git rev-parse HEAD)"
  name: push
`,
    );
    pushed = r.steps.find((s) => s.name === 'push')!.outputs['push.commit'];
    assert.match(pushed, /^[0-9a-f]{40}$/);
    dumped = path.join(work, 'after-run-1.yaml');
    fs.writeFileSync(dumped, first.dump());
  } finally {
    await first.stop();
  }
  const second = await startCloud({ stateFile: dumped });
  try {
    const r = await runIn(
      second,
      `
steps:
- checkout: self
  persistCredentials: true
- bash: |
    set -e
    echo "head=$(git rev-parse HEAD) message=$(git log -1 --format=%s)"
    git ls-remote origin refs/heads/run-1
  displayName: Inspect
`,
    );
    const inspect = r.steps.find((s) => s.displayName === 'Inspect')!.log;
    assert.match(inspect, new RegExp(`head=${pushed} message=run 1 was here`));
    assert.match(inspect, new RegExp(`${pushed}\\s+refs/heads/run-1`), 'the branch run 1 pushed is there');
    assert.equal(r.steps[0].result, 'Succeeded');
    const again = second.dump();
    assert.ok(again.includes('history:'), 'the next dump carries the history on');
  } finally {
    await second.stop();
  }
});

const cli = path.join(root, 'test', 'agent', 'pipeline-cli.ts');
function runCli(state: string) {
  const pipeline = path.join(work, 'noop.yml');
  fs.writeFileSync(pipeline, 'steps:\n- checkout: none\n- bash: echo ok\n');
  const file = path.join(work, `state-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, state);
  return spawnSync(process.execPath, ['--import', 'tsx', cli, pipeline, '--state', file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env },
  });
}

test('a state file takes every documented fault kind, status included', async () => {
  const fresh = await startCloud({ scenario: 'fresh' });
  let state: string;
  try {
    state = fresh.dump();
  } finally {
    await fresh.stop();
  }
  const faults = `faults:
  - { service: arm, method: PUT, path: federatedIdentityCredentials, kind: status, status: 409, code: ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity, message: busy, count: 1 }
  - { service: entra, kind: '429', retryAfter: 1, count: 1 }
  - { service: devops, kind: '500', count: 1 }
  - { service: devops, kind: '502', count: 1 }
  - { service: kube, kind: '503', retryAfter: 1, count: 1 }
  - { service: vssps, kind: reset, count: 1 }
  - { service: '*', kind: slow, delayMs: 1, probability: 0.5 }
`;
  const file = path.join(work, 'faults.yaml');
  fs.writeFileSync(file, state.replace(/^faults: \[\]\n/m, '') + faults);
  const cloud = await startCloud({ stateFile: file });
  await cloud.stop();
});

test('an unusable state file exits 2 with a message that names the field, not a stack trace', async () => {
  const fresh = await startCloud({ scenario: 'fresh' });
  let state: string;
  try {
    state = fresh.dump().replace(/^faults: \[\]\n/m, '');
  } finally {
    await fresh.stop();
  }
  const cases: [string, RegExp][] = [
    ['azure: [unclosed\n', /is not valid YAML/],
    ['- just\n- a list\n', /must be a YAML mapping with the keys azure, devops, kube/],
    [
      `${state}faults:\n  - { service: arm, kind: status }\n`,
      /faults\[0\]\.status: kind 'status' needs the HTTP status/,
    ],
    [`${state}faults:\n  - { service: arm, kind: '418' }\n`, /faults\[0\]\.kind: '418' is not a fault/],
    [
      `${state}faults:\n  - { service: arm, kind: '429', retryAfter: soon }\n`,
      /faults\[0\]\.retryAfter: must be a number/,
    ],
    [state.replace(/^( +)history: .*$/m, '$1history: "not a bundle!"'), /history: must be a base64 git bundle/],
    [
      state.replace(/^( +)history: .*$/m, '$1history: bm90IGEgYnVuZGxl'),
      /history: not a git bundle this emulator can restore/,
    ],
  ];
  for (const [text, message] of cases) {
    const res = runCli(text);
    assert.equal(res.status, 2, `${text.slice(0, 80)}\n${res.stdout}${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  }
});
