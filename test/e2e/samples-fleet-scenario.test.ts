/**
 * The fleet samples (samples/fleet/) against the emulated `fleet` scenario (FLEET-CONTRACT.md: 12
 * clusters over dev / staging / prod, two subscriptions, mixed states), run by the local runner on
 * several agents with the built tasks, as `npm run pipeline -- samples/fleet/<file> --scenario fleet`
 * runs them. Judged on what the user sees: each job's result and outputs, the commits in the
 * emulated `fleet` repository, and the gate's verdict naming the clusters that failed.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { checkoutSelf } from '../agent/checkout';
import { runPipeline, type JobRecord, type PipelineRun } from '../agent/pipeline';
import { startCloud, type Cloud } from '../emulators/cloud';
import { FLEET } from '../emulators/scenarios/fleet';

const root = path.resolve(import.meta.dirname, '..', '..');
const sample = (name: string) => path.join(root, 'samples', 'fleet', name);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'samples-fleet-scenario-'));
const clouds: Cloud[] = [];

after(async () => {
  for (const c of clouds) await c.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The `clusters` parameter for some clusters of the contract (YAML flow list). */
function clustersParam(names: string[]): string {
  return `[${names
    .map((n) => FLEET.find((c) => c.name === n)!)
    .map(
      (c) =>
        `{ name: ${c.name}, environment: ${c.env}, resourceGroup: ${c.resourceGroup}, connection: ${c.connection} }`,
    )
    .join(', ')}]`;
}

async function runSample(
  file: string,
  parameters: Record<string, string>,
  parallel: number,
): Promise<{ cloud: Cloud; run: PipelineRun; log: string; jobs: Map<string, JobRecord> }> {
  const cloud = await startCloud({ scenario: 'fleet' });
  clouds.push(cloud);
  let log = '';
  const run = await runPipeline({
    file: sample(file),
    cloud,
    parameters,
    parallel,
    print: (t) => {
      log += t;
    },
  });
  // Jobs by name, `<stage>/<job>` when the pipeline has stages.
  const staged = run.stages.length > 1;
  const jobs = new Map(run.stages.flatMap((s) => s.jobs).map((j) => [staged ? `${j.stage}/${j.name}` : j.name, j]));
  return { cloud, run, log, jobs };
}

/** The fleet repository's main branch as it is now (a fresh clone). */
async function cloneMain(cloud: Cloud): Promise<string> {
  const dir = fs.mkdtempSync(path.join(work, 'clone-'));
  const r = await checkoutSelf({
    repositoryUrl: cloud.env.BUILD_REPOSITORY_URI!,
    sourceBranch: 'refs/heads/main',
    accessToken: cloud.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN!,
    dir,
    caFile: cloud.env.NODE_EXTRA_CA_CERTS!,
    persistCredentials: false,
  });
  assert.ok(r.ok, r.log);
  return dir;
}

const folderText = (dir: string, cluster: string) =>
  fs.readFileSync(path.join(dir, 'clusters', cluster, 'flux-system', 'kustomization.yaml'), 'utf8');

test('azure-pipelines.yml, environment dev: one job per cluster, fresh ones set up and pushed, converged ones unchanged', async () => {
  const { cloud, run, log, jobs } = await runSample('azure-pipelines.yml', { environments: '[dev]' }, 4);
  assert.equal(run.result, 'Succeeded', log);
  const names = ['aks-dev-weu', 'aks-dev-neu', 'aks-dev-eus', 'aks-dev-wus'];
  const jobName = (n: string) => n.replace(/-/g, '_');
  assert.deepEqual([...jobs.keys()], names.map(jobName));
  const clone = await cloneMain(cloud);
  for (const n of names) {
    const job = jobs.get(jobName(n))!;
    assert.equal(job.result, 'Succeeded', `${n}\n${log}`);
    const out = job.outputs;
    assert.equal(out['verify.verified'], 'true', `${n}: ${JSON.stringify(out)}`);
    const converged = n === 'aks-dev-weu' || n === 'aks-dev-neu';
    assert.equal(out['patch.changed'], converged ? 'false' : 'true', `${n}: ${JSON.stringify(out)}`);
    assert.ok(folderText(clone, n).includes(out['provision.clientId']!), `${n}: the client id is committed on main`);
  }
  // The other environments were not touched.
  for (const other of ['aks-staging-weu', 'aks-prod-weu'])
    assert.ok(!/client-id/.test(folderText(clone, other)), other);
});

test('matrix.yml, connection azure-prod: one leg per cluster, the busy cluster included', async () => {
  const { cloud, run, log, jobs } = await runSample('matrix.yml', { connections: '[azure-prod]' }, 4);
  assert.equal(run.result, 'Succeeded', log);
  const legs = [...jobs.values()];
  assert.deepEqual(
    legs.map((j) => [j.job, j.leg, j.result]),
    ['aks_prod_weu', 'aks_prod_neu', 'aks_prod_eus', 'aks_prod_wus'].map((l) => ['azure_prod', l, 'Succeeded']),
  );
  const clone = await cloneMain(cloud);
  for (const j of legs) {
    const cluster = j.leg!.replace(/_/g, '-');
    assert.equal(j.outputs['verify.verified'], 'true', `${cluster}: ${JSON.stringify(j.outputs)}`);
    assert.ok(folderText(clone, cluster).includes(j.outputs['provision.clientId']!), `${cluster}: committed`);
  }
});

test('gate.yml: Deploy runs when every cluster verifies', async () => {
  const { run, log, jobs } = await runSample(
    'gate.yml',
    { clusters: clustersParam(['aks-dev-weu', 'aks-dev-neu']) },
    2,
  );
  assert.equal(run.result, 'Succeeded', log);
  assert.deepEqual(
    [...jobs.entries()].map(([k, j]) => [k, j.result]),
    [
      ['Verify/aks_dev_weu', 'Succeeded'],
      ['Verify/aks_dev_neu', 'Succeeded'],
      ['Deploy/Apps', 'Succeeded'],
    ],
  );
  assert.match(log, /aks-dev-weu verified=true/);
  assert.match(log, /aks-dev-neu verified=true/);
});

test('gate.yml: a failing cluster fails its job and blocks Deploy, naming the cluster and why', async () => {
  const { run, log, jobs } = await runSample(
    'gate.yml',
    { clusters: clustersParam(['aks-dev-weu', 'aks-staging-eus', 'aks-staging-wus']) },
    3,
  );
  assert.equal(run.result, 'Failed', log);
  assert.deepEqual(
    [...jobs.entries()].filter(([k]) => k.startsWith('Verify/')).map(([k, j]) => [k, j.result]),
    [
      ['Verify/aks_dev_weu', 'Succeeded'],
      ['Verify/aks_staging_eus', 'Failed'],
      ['Verify/aks_staging_wus', 'Failed'],
    ],
  );
  assert.deepEqual(
    run.stages.map((s) => [s.name, s.result]),
    [
      ['Verify', 'Failed'],
      ['Deploy', 'Skipped'],
    ],
  );
  assert.ok(!run.steps.some((s) => s.stage === 'Deploy' && s.result !== 'Skipped'), 'no Deploy step ran');
  const stepOf = (job: string) => jobs.get(job)!.steps.find((s) => s.displayName.startsWith('Verify'))!;
  assert.match(stepOf('Verify/aks_staging_eus').log, /Flux 2\.4 or later/);
  assert.match(stepOf('Verify/aks_staging_wus').log, /[Ww]orkload identity/);
  assert.equal(jobs.get('Verify/aks_staging_eus')!.outputs['verify.verified'], 'false');
  assert.match(log, /Skipping stage Deploy: condition is false: succeeded\(\)/);
});
