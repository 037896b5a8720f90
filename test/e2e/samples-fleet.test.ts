/**
 * The fleet samples (samples/fleet/), run the way a user runs them: `npm run pipeline` (the CLI)
 * with `--parallel` agents against the emulated cloud, the built tasks doing the work.
 *
 * The `fleet` scenario (FLEET-CONTRACT.md) is not on main yet, so the runs use the scenarios that
 * exist: the `clusters` parameter is narrowed to the one cluster of `fresh` / `converged`
 * (aks-prod in rg-fleet, folder clusters/prod/flux-system, connection azure-prod). The fan-out of
 * the default 12-cluster list is checked at compile time.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { compile } from '../agent/pipeline';
import { E2E_TIME_SCALE } from '../emulators/cloud';

const root = path.resolve(import.meta.dirname, '..', '..');
const sample = (name: string) => path.join(root, 'samples', 'fleet', name);
const ONE_CLUSTER =
  'clusters=[{ name: aks-prod, environment: prod, resourceGroup: rg-fleet, connection: azure-prod, path: clusters/prod/flux-system }]';

function pipeline(file: string, args: string[]) {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'test', 'agent', 'pipeline-cli.ts'), file, '--parallel', '3', ...args],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
      // The CLI's cloud and the tasks it runs wait on the emulated clock (as the other e2e tests do).
      env: { ...process.env, FLUX_OIDC_E2E_TIME_SCALE: String(E2E_TIME_SCALE) },
    },
  );
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

/** Rows of the printed run summary: [stage/job, step, result]. */
function summary(out: string): string[][] {
  const table = out.split('════ Run summary ════')[1]?.split('\n\nResult:')[0] ?? '';
  return table
    .split('\n')
    .slice(3)
    .map((l) => l.split(/\s{2,}/).slice(0, 3));
}

const CONTRACT = [
  ['aks-dev-weu', 'rg-fleet-dev', 'azure-nonprod'],
  ['aks-dev-neu', 'rg-fleet-dev', 'azure-nonprod'],
  ['aks-dev-eus', 'rg-fleet-dev', 'azure-nonprod'],
  ['aks-dev-wus', 'rg-fleet-dev', 'azure-nonprod'],
  ['aks-staging-weu', 'rg-fleet-staging', 'azure-nonprod'],
  ['aks-staging-neu', 'rg-fleet-staging', 'azure-nonprod'],
  ['aks-staging-eus', 'rg-fleet-staging', 'azure-nonprod'],
  ['aks-staging-wus', 'rg-fleet-staging', 'azure-nonprod'],
  ['aks-prod-weu', 'rg-fleet-prod-eu', 'azure-prod'],
  ['aks-prod-neu', 'rg-fleet-prod-eu', 'azure-prod'],
  ['aks-prod-eus', 'rg-fleet-prod-us', 'azure-prod'],
  ['aks-prod-wus', 'rg-fleet-prod-us', 'azure-prod'],
];

test('compile time: one job per cluster of the contract, one matrix leg per cluster, a gate over all', () => {
  const fanout = compile({ file: sample('azure-pipelines.yml') }).pipeline.stages[0].jobs;
  assert.deepEqual(
    fanout.map((j) => {
      const provision = j.steps.find((s) => s.kind === 'task' && s.taskName === 'FluxOidcProvision');
      const vars = Object.fromEntries(j.variables.map((v) => [v.name, v.value]));
      return [j.name, vars.resourceGroup, provision?.kind === 'task' ? provision.inputs.azureSubscription : ''];
    }),
    CONTRACT.map(([name, rg, conn]) => [name.replace(/-/g, '_'), rg, conn]),
  );
  const staging = compile({ file: sample('azure-pipelines.yml'), parameters: { environments: '[staging]' } });
  assert.deepEqual(
    staging.pipeline.stages[0].jobs.map((j) => j.name),
    ['aks_staging_weu', 'aks_staging_neu', 'aks_staging_eus', 'aks_staging_wus'],
  );

  const matrix = compile({ file: sample('matrix.yml') }).pipeline.stages[0].jobs;
  assert.deepEqual(
    matrix.map((j) => [j.name, j.strategy?.maxParallel, j.strategy?.legs.length]),
    [
      ['azure_nonprod', 3, 8],
      ['azure_prod', 3, 4],
    ],
  );
  assert.deepEqual(
    matrix[1].strategy!.legs[0].variables.map((v) => [v.name, v.value]),
    [
      ['clusterName', 'aks-prod-weu'],
      ['resourceGroup', 'rg-fleet-prod-eu'],
      ['fluxSystemPath', 'clusters/aks-prod-weu/flux-system'],
    ],
  );

  const gate = compile({ file: sample('gate.yml') }).pipeline;
  assert.deepEqual(
    gate.stages.map((s) => [s.name, s.dependsOn, s.jobs.length]),
    [
      ['Verify', [], 12],
      ['Deploy', ['Verify'], 1],
    ],
  );
  assert.ok(
    gate.stages[0].jobs.every((j) => j.steps.map((s) => s.kind).join() === 'checkout,task'),
    'the gate only verifies (checkout: none, FluxOidcVerify)',
  );
});

test('azure-pipelines.yml: the cluster job template provisions, patches and verifies', () => {
  const { status, out } = pipeline(sample('azure-pipelines.yml'), ['--scenario', 'fresh', '--param', ONE_CLUSTER]);
  assert.equal(status, 0, out);
  assert.deepEqual(summary(out), [
    ['aks_prod', 'Checkout fleet@main to s', 'Succeeded'],
    ['aks_prod', 'Provision aks-prod', 'Succeeded'],
    ['aks_prod', 'Patch clusters/prod/flux-system', 'Succeeded'],
    ['aks_prod', 'Verify aks-prod', 'Succeeded'],
  ]);
  assert.match(out, /outputs: verify\.verified=true/);
});

test('matrix.yml: one job per connection, one leg per cluster', () => {
  const { status, out } = pipeline(sample('matrix.yml'), [
    '--scenario',
    'fresh',
    '--param',
    ONE_CLUSTER,
    '--param',
    'connections=[azure-prod]',
  ]);
  assert.equal(status, 0, out);
  assert.deepEqual(
    summary(out).map((r) => r[0]),
    ['azure_prod_aks_prod', 'azure_prod_aks_prod', 'azure_prod_aks_prod', 'azure_prod_aks_prod'],
  );
  assert.match(out, /Verify aks-prod\s+Succeeded/);
});

test('gate.yml: Deploy runs when every cluster verifies, and is skipped when one fails', () => {
  const ok = pipeline(sample('gate.yml'), ['--scenario', 'converged', '--param', ONE_CLUSTER]);
  assert.equal(ok.status, 0, ok.out);
  assert.deepEqual(summary(ok.out), [
    ['Verify/aks_prod', 'Verify aks-prod', 'Succeeded'],
    ['Deploy/Apps', 'aks-prod is verified', 'Succeeded'],
  ]);
  assert.match(ok.out, /aks-prod verified=true/);

  const blocked = pipeline(sample('gate.yml'), ['--scenario', 'fresh', '--param', ONE_CLUSTER]);
  assert.equal(blocked.status, 1, blocked.out);
  assert.deepEqual(summary(blocked.out), [['Verify/aks_prod', 'Verify aks-prod', 'Failed']]);
  assert.match(blocked.out, /Skipping stage Deploy: condition is false: succeeded\(\)/);
});
