/**
 * Jobs that may run in parallel really do, as many as the agent pool (`parallel`) and a matrix's
 * `maxParallel` allow. Proof from the log, as a user would read it: each job's steps carry the
 * agent's `<ISO time> ##[section]Starting/Finishing` stamps; the jobs' windows are compared, no
 * wall-clock thresholds. Legs meet at a barrier (each waits until N legs have started), so a
 * runner that ran them one after the other would fail the barrier instead of passing slowly.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFakeTask } from '../agent/fake-task';
import { runPipeline, type PipelineRun } from '../agent/pipeline';

let work: string;
let tasksDir: string;
before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-parallel-'));
  tasksDir = path.join(work, 'tasks');
  // A bundled task that meets the others at a barrier: registers, then waits until `count` have.
  await createFakeTask(tasksDir, {
    name: 'BarrierTask',
    instanceNameFormat: 'Barrier $(name)',
    inputs: [
      { name: 'name', required: true },
      { name: 'dir', required: true },
      { name: 'count', required: true },
    ],
    body: `
      const dir = tl.getInput('dir', true)!;
      const count = Number(tl.getInput('count', true));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, tl.getInput('name', true)!), String(process.pid));
      for (let i = 0; i < 600 && fs.readdirSync(dir).length < count; i++) await new Promise((r) => setTimeout(r, 100));
      const pids = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
      if (pids.length < count) tl.setResult(tl.TaskResult.Failed, 'only ' + pids.length + ' of ' + count + ' tasks ran at the same time');
      else tl.setResult(tl.TaskResult.Succeeded, 'met processes ' + pids.join(','));
    `,
  });
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

async function run(yaml: string, parallel?: number): Promise<PipelineRun & { printed: string }> {
  let printed = '';
  const r = await runPipeline({
    yaml,
    file: path.join(work, 'test.yml'),
    tasksDir,
    parallel,
    print: (t) => {
      printed += t;
    },
  });
  return { ...r, printed };
}

/**
 * A step (YAML at `indent`) that registers its job in `dir` and waits (up to 60 s) until `n` jobs
 * have registered.
 */
function barrier(dir: string, n: number, indent = 4): string {
  const lines = [
    '- bash: |',
    `    mkdir -p ${dir} && touch "${dir}/$(System.JobName)"`,
    `    for i in $(seq 1 600); do [ "$(ls ${dir} | wc -l)" -ge ${n} ] && exit 0; sleep 0.1; done`,
    `    echo "only $(ls ${dir} | wc -l) of ${n} jobs ran at the same time"; exit 1`,
    '  displayName: Barrier $(System.JobName)',
  ];
  return lines.map((l) => `\n${' '.repeat(indent)}${l}`).join('');
}

/** Job name -> [start, end] from the timestamps of its `Barrier <job>` step in the printed log. */
function windows(printed: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  const re = /^(\S+) ##\[section\](Starting|Finishing): Barrier (\S+)/gm;
  for (const m of printed.matchAll(re)) {
    const w = out.get(m[3]) ?? [NaN, NaN];
    w[m[2] === 'Starting' ? 0 : 1] = Date.parse(m[1]);
    out.set(m[3], w);
  }
  for (const [job, [s, e]] of out) assert.ok(s <= e, `${job}: no complete window in the log`);
  return out;
}

/** The most windows open at one instant (a window is [start, end); touching ends do not overlap). */
function maxConcurrency(w: Map<string, [number, number]>): number {
  const events = [...w.values()].flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (open += d));
  return max;
}

test('a matrix runs its legs in parallel up to maxParallel; legs are <job>_<leg> with their own variables and outputs', async () => {
  const dir = path.join(work, 'matrix');
  const r = await run(
    `
stages:
- stage: Fan
  jobs:
  - job: fanout
    strategy:
      maxParallel: 2
      matrix:
        weu: { region: westeurope }
        neu: { region: northeurope }
        eus: { region: eastus }
        wus: { region: westus }
    steps:
    - checkout: none${barrier(dir, 2)}
    - bash: echo "##vso[task.setvariable variable=where;isOutput=true]$(region) $(System.JobPositionInPhase)/$(System.TotalJobsInPhase) $(System.JobName)"
      name: set
  - job: after
    dependsOn: fanout
    variables:
      weu: $[ dependencies.fanout.outputs['weu.set.where'] ]
      wus: $[ dependencies.fanout.outputs['wus.set.where'] ]
    steps:
    - checkout: none
    - bash: echo "weu=[$(weu)] wus=[$(wus)]"
      displayName: Read legs
- stage: Next
  jobs:
  - job: read
    variables:
      eus: $[ stageDependencies.Fan.fanout.outputs['eus.set.where'] ]
    steps:
    - checkout: none
    - bash: echo "eus=[$(eus)]"
      displayName: Read from the next stage
`,
    4,
  );
  assert.equal(r.result, 'Succeeded', r.printed);
  assert.deepEqual(
    r.stages[0].jobs.map((j) => [j.name, j.result]),
    [
      ['fanout_weu', 'Succeeded'],
      ['fanout_neu', 'Succeeded'],
      ['fanout_eus', 'Succeeded'],
      ['fanout_wus', 'Succeeded'],
      ['after', 'Succeeded'],
    ],
  );
  const log = (display: string) => r.steps.find((s) => s.displayName === display)!.log;
  assert.match(log('Read legs'), /weu=\[westeurope 1\/4 fanout_weu\] wus=\[westus 4\/4 fanout_wus\]/);
  assert.match(log('Read from the next stage'), /eus=\[eastus 3\/4 fanout_eus\]/);
  const w = windows(r.printed);
  assert.deepEqual([...w.keys()].sort(), ['fanout_eus', 'fanout_neu', 'fanout_weu', 'fanout_wus']);
  assert.equal(maxConcurrency(w), 2, 'exactly maxParallel legs at a time: never fewer (barrier), never more');
});

test('the agent pool bounds every job of the run; one agent (the default) runs jobs one after the other', async () => {
  const yaml = (dir: string, n: number) => `
jobs:
- job: a
  strategy:
    matrix: { one: {}, two: {}, three: {} }
  steps:
  - checkout: none${barrier(dir, n, 2)}
- job: b
  strategy:
    parallel: 3
  steps:
  - checkout: none${barrier(dir, n, 2)}
  - bash: echo "position $(System.JobPositionInPhase) of $(System.TotalJobsInPhase)"
    displayName: Position
`;
  const two = await run(yaml(path.join(work, 'pool2'), 2), 2);
  assert.equal(two.result, 'Succeeded', two.printed);
  assert.deepEqual(
    two.stages[0].jobs.map((j) => j.name),
    ['a_one', 'a_two', 'a_three', 'b_1', 'b_2', 'b_3'],
  );
  assert.equal(maxConcurrency(windows(two.printed)), 2, 'two agents: two jobs at a time, across both jobs');
  assert.deepEqual(
    two.steps
      .filter((s) => s.displayName === 'Position')
      .map((s) => s.log.trim())
      .sort(),
    ['position 1 of 3', 'position 2 of 3', 'position 3 of 3'],
  );

  const one = await run(yaml(path.join(work, 'pool1'), 1));
  assert.equal(one.result, 'Succeeded', one.printed);
  assert.equal(maxConcurrency(windows(one.printed)), 1, 'one agent: no two jobs overlap');
});

test('independent stages run at the same time; a stage waits for the ones it depends on', async () => {
  const dir = path.join(work, 'stages');
  const r = await run(
    `
stages:
- stage: A
  dependsOn: []
  jobs:
  - job: a
    steps:
    - checkout: none${barrier(dir, 2)}
- stage: B
  dependsOn: []
  jobs:
  - job: b
    steps:
    - checkout: none${barrier(dir, 2)}
- stage: C
  dependsOn: [A, B]
  jobs:
  - job: c
    steps:
    - checkout: none${barrier(dir, 3)}
`,
    3,
  );
  assert.equal(r.result, 'Succeeded', r.printed);
  const w = windows(r.printed);
  assert.equal(maxConcurrency(new Map([...w].filter(([k]) => k !== 'c'))), 2, 'A and B overlap');
  assert.ok(w.get('c')![0] >= Math.max(w.get('a')![1], w.get('b')![1]), 'C starts after A and B finished');
});

test('a failed leg fails its job for dependants; the other legs still run', async () => {
  const r = await run(
    `
jobs:
- job: fan
  strategy:
    matrix: { good: { code: '0' }, bad: { code: '3' } }
  steps:
  - checkout: none
  - bash: exit $(code)
- job: onFailure
  dependsOn: fan
  condition: failed()
  steps:
  - checkout: none
  - bash: echo "fan result $(fanResult)"
    displayName: Report
  variables:
    fanResult: $[ dependencies.fan.result ]
`,
    2,
  );
  assert.equal(r.result, 'Failed');
  assert.deepEqual(
    r.stages[0].jobs.map((j) => [j.name, j.result]),
    [
      ['fan_good', 'Succeeded'],
      ['fan_bad', 'Failed'],
      ['onFailure', 'Succeeded'],
    ],
  );
  assert.match(r.steps.find((s) => s.displayName === 'Report')!.log, /fan result Failed/);
});

test('bundled tasks of parallel legs run as concurrent agent processes', async () => {
  const dir = path.join(work, 'tasks-barrier');
  const r = await run(
    `
jobs:
- job: fleet
  strategy:
    matrix: { a: {}, b: {}, c: {} }
  steps:
  - checkout: none
  - task: BarrierTask@1
    inputs:
      name: $(System.JobName)
      dir: ${dir}
      count: '3'
`,
    3,
  );
  assert.equal(r.result, 'Succeeded', r.printed);
  const w = windows(r.printed);
  assert.deepEqual([...w.keys()].sort(), ['fleet_a', 'fleet_b', 'fleet_c']);
  assert.equal(maxConcurrency(w), 3);
  const pids = new Set(r.steps.filter((s) => s.kind === 'task').map((s) => s.run!.message));
  assert.equal(pids.size, 1, 'each task met the same three processes');
  assert.equal([...pids][0].split(',').length, 3);
});

test("a matrix from a runtime expression: legs from an earlier job's output, with maxParallel", async () => {
  const r = await run(
    `
jobs:
- job: generator
  steps:
  - checkout: none
  - bash: echo "##vso[task.setvariable variable=legs;isOutput=true]{'weu':{'region':'westeurope'}, 'neu':{'region':'northeurope'}}"
    name: mtrx
  - bash: echo "##vso[task.setvariable variable=none;isOutput=true]{}"
    name: empty
- job: runner
  dependsOn: generator
  strategy:
    maxParallel: 1
    matrix: $[ dependencies.generator.outputs['mtrx.legs'] ]
  steps:
  - checkout: none
  - bash: echo "region $(region) leg $(System.JobPositionInPhase) of $(System.TotalJobsInPhase)"
    displayName: Region
- job: nothing
  dependsOn: generator
  strategy:
    matrix: $[ dependencies.generator.outputs['empty.none'] ]
  steps:
  - bash: echo never
`,
    2,
  );
  assert.equal(r.result, 'Succeeded', r.printed);
  assert.deepEqual(
    r.stages[0].jobs.map((j) => [j.name, j.result]),
    [
      ['generator', 'Succeeded'],
      ['runner_weu', 'Succeeded'],
      ['runner_neu', 'Succeeded'],
      ['nothing', 'Skipped'],
    ],
  );
  assert.deepEqual(
    r.steps.filter((s) => s.displayName === 'Region').map((s) => s.log.trim()),
    ['region westeurope leg 1 of 2', 'region northeurope leg 2 of 2'],
  );
  assert.match(r.printed, /Skipping job nothing: the matrix expression gave no legs/);
});

test('a YAML error found at run time in parallel jobs stops the run with that error, once', async () => {
  const yaml = ['a', 'b', 'c']
    .map((j) => `- job: ${j}\n  steps:\n  - checkout: none\n  - task: NoSuchTask@1\n`)
    .join('');
  await assert.rejects(
    run(`jobs:\n${yaml}`, 3),
    /test\.yml\.jobs\[[0-2]\]\.steps\[1\]\.task: NoSuchTask@1 is not a built task of this extension/,
  );
});
