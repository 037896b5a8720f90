/**
 * The local pipeline runner on small YAMLs: output variables chained from scripts into a task and
 * back, across jobs and stages, conditions, continueOnError, failure propagation, and a clear error
 * for what it does not implement. Tasks are small real bundles (fake-task.ts); no cloud needed.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFakeTask } from '../agent/fake-task';
import { PipelineError, runPipeline, type PipelineRun } from '../agent/pipeline';
import { E2E_TIME_SCALE, startCloud } from '../emulators/cloud';
import { FRESH } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
let work: string;
let tasksDir: string;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-test-'));
  tasksDir = path.join(work, 'tasks');
  // Echoes its input as an output variable, fails on demand, reads a secret variable.
  await createFakeTask(tasksDir, {
    name: 'EchoTask',
    instanceNameFormat: 'Echo $(message)',
    inputs: [
      { name: 'message', required: true },
      { name: 'fail', defaultValue: 'false' },
      { name: 'connection', type: 'connectedService:AzureRM' },
    ],
    body: `
      const message = tl.getInput('message', true)!;
      const connection = tl.getInput('connection');
      if (connection) console.log('connection=' + connection + ' url=' + tl.getEndpointUrl(connection, false) + ' scheme=' + tl.getEndpointAuthorizationScheme(connection, false));
      console.log('task got ' + message + ' and secret ' + tl.getVariable('mySecret'));
      tl.setVariable('echoed', message.toUpperCase(), false, true);
      if (tl.getBoolInput('fail')) { tl.setResult(tl.TaskResult.Failed, 'asked to fail'); return; }
      const summary = path.join(tl.getVariable('Agent.TempDirectory')!, 'echo.md');
      fs.writeFileSync(summary, '## Echo\\n' + message);
      tl.uploadSummary(summary);
      tl.setResult(tl.TaskResult.Succeeded, 'echoed');
    `,
  });
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

async function run(
  yaml: string,
  cloud?: Parameters<typeof runPipeline>[0]['cloud'],
): Promise<PipelineRun & { printed: string }> {
  let printed = '';
  const r = await runPipeline({
    yaml,
    file: 'test.yml',
    tasksDir,
    cloud,
    print: (t) => {
      printed += t;
    },
  });
  return { ...r, printed };
}

const step = (r: PipelineRun, display: string) => {
  const s = r.steps.find((x) => x.displayName === display);
  assert.ok(s, `no step ${display}: ${r.steps.map((x) => x.displayName).join(', ')}`);
  return s;
};

test('output variables chain from a script into a task and back; conditions and continueOnError', async () => {
  const r = await run(`
variables:
  greeting: hello
  mySecret: not-yet
steps:
- bash: |
    echo "##vso[task.setvariable variable=color;isOutput=true]blue"
    echo "##vso[task.setvariable variable=mySecret;issecret=true]p4ss-w0rd"
  name: first
  displayName: Set color
- task: EchoTask@1
  name: echo
  inputs:
    message: $(greeting) $(first.color)
- bash: |
    echo "echoed=$(echo.echoed) env=$ECHO_ECHOED secret-env=[$MYSECRET] macro=$(mySecret)"
    test "$(echo.echoed)" = "HELLO BLUE"
  displayName: Check
- task: EchoTask@1
  displayName: Fails but continues
  continueOnError: true
  inputs:
    message: x
    fail: true
- bash: echo "runs after a continueOnError failure, job status $(Agent.JobStatus)"
  displayName: After
- bash: echo never
  displayName: Only on failure
  condition: failed()
- bash: echo "always, color $(first.color)"
  displayName: Always
  condition: and(always(), eq(variables['first.color'], 'BLUE'))
`);
  assert.equal(r.result, 'SucceededWithIssues');
  assert.equal(step(r, 'Echo hello blue').result, 'Succeeded', 'instanceNameFormat filled from the inputs');
  assert.deepEqual(step(r, 'Echo hello blue').outputs, { 'echo.echoed': 'HELLO BLUE' });
  const check = step(r, 'Check');
  assert.equal(check.result, 'Succeeded');
  assert.match(
    check.log,
    /echoed=HELLO BLUE env=HELLO BLUE secret-env=\[\] macro=\*\*\*/,
    'secrets are not in the environment of scripts, and are masked',
  );
  assert.match(
    step(r, 'Echo hello blue').log,
    /task got hello blue and secret \*\*\*/,
    'a secret variable reaches the task (SECRET_MYSECRET) and is masked',
  );
  assert.equal(step(r, 'Fails but continues').result, 'SucceededWithIssues');
  assert.match(step(r, 'After').log, /job status SucceededWithIssues/);
  assert.equal(step(r, 'Only on failure').result, 'Skipped');
  assert.equal(step(r, 'Always').result, 'Succeeded');
  assert.deepEqual(
    r.summaries.map((s) => s.content),
    ['## Echo\nhello blue'],
  );
  assert.ok(!r.printed.includes('p4ss-w0rd'), 'the secret value never reaches the printed log');
  assert.match(r.printed, /════ Run summary ════[\s\S]*Result: SucceededWithIssues/);
});

test('a failed step skips the rest by default and fails the run', async () => {
  const r = await run(`
steps:
- task: EchoTask@1
  inputs: { message: m, fail: 'true' }
- bash: echo should not run
  displayName: Next
- bash: echo cleanup
  displayName: Cleanup
  condition: always()
`);
  assert.equal(r.result, 'Failed');
  assert.equal(step(r, 'Echo m').result, 'Failed');
  assert.equal(step(r, 'Next').result, 'Skipped');
  assert.equal(step(r, 'Cleanup').result, 'Succeeded');
});

test('outputs across jobs and stages through dependencies and stageDependencies', async () => {
  const r = await run(`
stages:
- stage: Verify
  jobs:
  - job: Check
    steps:
    - checkout: none
    - bash: echo "##vso[task.setvariable variable=verified;isOutput=true]true"
      name: verify
  - job: Report
    dependsOn: Check
    variables:
      v: $[ dependencies.Check.outputs['verify.verified'] ]
    steps:
    - checkout: none
    - bash: test "$(v)" = true
      displayName: Same stage
- stage: Deploy
  condition: and(succeeded(), eq(dependencies.Verify.outputs['Check.verify.verified'], 'true'))
  jobs:
  - deployment: Rollout
    environment: prod
    variables:
      v: $[ stageDependencies.Verify.Check.outputs['verify.verified'] ]
    strategy:
      runOnce:
        deploy:
          steps:
          - bash: test "$(v)" = true
            displayName: Next stage
- stage: NotReached
  condition: eq(dependencies.Deploy.result, 'Failed')
  jobs:
  - job: X
    steps:
    - bash: echo no
      displayName: Never
`);
  assert.equal(r.result, 'Succeeded');
  assert.equal(step(r, 'Same stage').result, 'Succeeded');
  assert.equal(step(r, 'Next stage').result, 'Succeeded');
  assert.deepEqual(
    r.stages.map((s) => [s.name, s.result]),
    [
      ['Verify', 'Succeeded'],
      ['Deploy', 'Succeeded'],
      ['NotReached', 'Skipped'],
    ],
  );
});

test('what the runner does not implement is an error naming the YAML path', async () => {
  const cases: [string, RegExp][] = [
    ['steps:\n- bash: echo\n- pwsh: Write-Host hi\n', /test\.yml\.steps\[1\]\.pwsh: 'pwsh' steps are not supported/],
    [
      "jobs:\n- job: A\n  strategy:\n    matrix: $[ variables['Build.BuildId'] ]\n  steps:\n  - bash: echo\n",
      /jobs\[0\]\.strategy\.matrix: \$\[ variables\['Build\.BuildId'\] \] gave '1', which is not a JSON mapping of legs/,
    ],
    [
      'steps:\n- template: steps.yml@templates\n',
      /test\.yml\.steps\[0\]\.template: 'steps\.yml@templates': templates from other repositories/,
    ],
    [
      'steps:\n- task: AzureCLI@2\n  inputs: {}\n',
      /test\.yml\.steps\[0\]\.task: AzureCLI@2 is not a built task of this extension/,
    ],
    ['steps:\n- task: EchoTask@2\n', /asks for major version 2, the built task is 1\.0\.0/],
    ['jobs:\n- job: A\n  container: ubuntu\n  steps: []\n', /jobs\[0\]\.container: 'container' is not supported/],
    ['jobs:\n- job: A\n  strategy:\n    matrix: { 1x: {} }\n  steps: []\n', /matrix\.1x: '1x' is not a valid leg name/],
    [
      'steps:\n- bash: echo\n  condition: matches(variables.x)\n',
      /steps\[0\]\.condition: Unrecognized function 'matches'/,
    ],
    ['stages:\n- stage: A\n  dependsOn: B\n  jobs: []\n', /stages\[0\]\.dependsOn: 'B' is not a stage/],
    ['variables:\n- group: my-group\nsteps: []\n', /variables\[0\]\.group: variable groups are not supported/],
  ];
  for (const [yaml, message] of cases) {
    await assert.rejects(run(yaml), (e: Error) => e instanceof PipelineError && message.test(e.message), yaml);
  }
});

test('the CLI exits non-zero when the run fails, and 2 on an unusable YAML', () => {
  const file = path.join(work, 'fail.yml');
  fs.writeFileSync(file, 'steps:\n- checkout: none\n- bash: echo boom; exit 4\n  displayName: Boom\n');
  const cli = path.join(root, 'test', 'agent', 'pipeline-cli.ts');
  const res = spawnSync(process.execPath, ['--import', 'tsx', cli, file, '--no-cloud'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(res.status, 1, res.stdout + res.stderr);
  assert.match(res.stdout, /Boom\s+Failed/);
  fs.writeFileSync(file, 'steps:\n- powershell: x\n');
  const bad = spawnSync(process.execPath, ['--import', 'tsx', cli, file, '--no-cloud'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /steps\[0\]\.powershell/);
  // Compile time from the command line: --param, --expand; a wrong parameter exits 2 before anything runs.
  fs.writeFileSync(
    file,
    'parameters:\n- { name: regions, type: object, default: [weu] }\n- { name: mode, type: string, default: plan, values: [plan, apply] }\nsteps:\n- ${{ each r in parameters.regions }}:\n  - bash: echo ${{ r }} ${{ parameters.mode }}\n',
  );
  const expanded = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, file, '--expand', '--param', 'regions=[weu, neu]', '--param', 'mode=apply'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(expanded.status, 0, expanded.stderr);
  assert.equal(expanded.stdout, 'steps:\n  - bash: echo weu apply\n  - bash: echo neu apply\n');
  const wrong = spawnSync(process.execPath, ['--import', 'tsx', cli, file, '--no-cloud', '--param', 'mode=destroy'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /The 'mode' parameter value 'destroy' is not a valid value\./);
});

test('against the emulated cloud: checkout of the repository, service connection by name, masked access token', async () => {
  const cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  try {
    const token = cloud.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN;
    assert.ok(token, 'the cloud hands out a System.AccessToken');
    const r = await run(
      `
steps:
- bash: |
    set -e
    git status | head -n 1
    test -f clusters/prod/flux-system/kustomization.yaml
    test "$(git rev-parse HEAD)" = "$(Build.SourceVersion)"
    echo "token=$(System.AccessToken) repo=$(Build.Repository.Name)"
    git config --get http.extraheader || echo "no credentials persisted"
  displayName: Inspect checkout
- task: EchoTask@1
  inputs:
    message: hi
    connection: ${FRESH.serviceConnectionName}
`,
      cloud,
    );
    assert.equal(r.result, 'Succeeded', r.printed);
    assert.equal(r.steps[0].displayName, `Checkout ${FRESH.repository}@${FRESH.branch} to s`);
    const inspect = step(r, 'Inspect checkout');
    assert.match(inspect.log, /HEAD detached at/, 'the agent checks out a detached HEAD');
    assert.match(inspect.log, new RegExp(`token=\\*\\*\\* repo=${FRESH.repository}`));
    assert.match(inspect.log, /no credentials persisted/);
    const connectionId = cloud.serviceConnections[FRESH.serviceConnectionName];
    assert.equal(connectionId, FRESH.serviceConnectionId);
    assert.ok(
      step(r, 'Echo hi').log.includes(
        `connection=${connectionId} url=${cloud.env[`ENDPOINT_URL_${connectionId}`]} scheme=WorkloadIdentityFederation`,
      ),
      step(r, 'Echo hi').log,
    );
    assert.ok(!r.printed.includes(token), 'the access token never reaches the printed log');
    await assert.rejects(
      run('steps:\n- task: EchoTask@1\n  inputs: { message: m, connection: nope }\n', cloud),
      /inputs\.connection: service connection 'nope' does not exist/,
    );
  } finally {
    await cloud.stop();
  }
});
