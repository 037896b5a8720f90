/**
 * FluxOidcVerify as a gate: samples/gate-multistage.yml run by the local pipeline runner against
 * the emulated cloud, both ways. Flux is already running on the cluster (bootstrapped over SSH)
 * before the pipeline starts, as in real life; Setup provisions and patches, Gate verifies, and
 * Deploy runs only when Verify passed.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runPipeline, type PipelineRun } from '../agent/pipeline';
import { E2E_TIME_SCALE, startCloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH } from '../emulators/names';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const SAMPLE = path.join(root, 'samples', 'gate-multistage.yml');
const TASKS_DIR = process.env.VERIFY_TASKS_DIR ?? path.join(root, 'dist', 'tasks');

async function gate(mutate?: (s: CloudState) => void): Promise<{ run: PipelineRun; log: string }> {
  for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify']) {
    assert.ok(
      fs.existsSync(path.join(TASKS_DIR, t, 'main.js')),
      `${TASKS_DIR}/${t}/main.js is missing: run npm run build first`,
    );
  }
  const cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'fresh' });
  try {
    if (mutate) mutate(cloud.ctx.state);
    const rt = kubeRuntime(cloud.ctx);
    await rt.cluster(FRESH.clusterName)!.ensureBooted();
    await rt.settled();
    let log = '';
    const run = await runPipeline({
      file: SAMPLE,
      cloud,
      tasksDir: TASKS_DIR,
      print: (t) => {
        log += t;
      },
    });
    if (process.env.E2E_SHOW) console.log(log);
    return { run, log };
  } finally {
    await cloud.stop();
  }
}

const stage = (r: PipelineRun, name: string) => r.stages.find((s) => s.name === name)!;
const verifyStep = (r: PipelineRun) => r.steps.find((s) => s.name === 'verify')!;

test('the deploy stage runs when Verify passed', async () => {
  const { run, log } = await gate();
  assert.equal(stage(run, 'Setup').result, 'Succeeded', log);
  assert.equal(stage(run, 'Gate').result, 'Succeeded', log);
  assert.equal(verifyStep(run).outputs['verify.verified'], 'true', log);
  assert.equal(stage(run, 'Deploy').result, 'Succeeded', log);
  assert.equal(stage(run, 'Deploy').skipped, undefined);
  assert.match(log, /Flux reads the fleet repository with workload identity, deploying the apps/);
  assert.match(verifyStep(run).log, /artifact revision: main@sha1:[0-9a-f]{40}/);
  assert.equal(run.result, 'Succeeded');
});

test('the deploy stage is skipped when Verify failed, and the gate says why', async () => {
  // Flux cannot pull the repository (its bootstrap deploy key was never registered), so the patch
  // FluxManifestPatch pushes never reaches the cluster.
  const { run, log } = await gate((s) => {
    s.kube.clusters[FRESH.clusterName]!.bootstrap!.sshKeyRegistered = false;
  });
  assert.equal(stage(run, 'Setup').result, 'Succeeded', log);
  assert.equal(stage(run, 'Gate').result, 'Failed', log);
  const v = verifyStep(run);
  assert.equal(v.outputs['verify.verified'], 'false');
  assert.match(v.outputs['verify.failedChecks'] ?? '', /reconcile\.git-repository/);
  assert.match(v.log, /\[FAIL\] GitRepository flux-system\/flux-system Ready/);
  assert.match(v.log, /cause: Flux cannot fetch the repository over SSH with its bootstrap key/);
  assert.ok(stage(run, 'Deploy').skipped, 'Deploy did not run');
  assert.doesNotMatch(log, /deploying the apps/);
  assert.equal(run.result, 'Failed');
});
