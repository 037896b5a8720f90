/**
 * FluxOidcProvision@1 end to end on what real users bring (issue 12): inputs checked against the
 * cluster (a service account no Flux controller runs as, a Flux namespace where no Flux runs), a
 * shared identity reaching 20 of 20 federated credentials, a Kubernetes or generic service
 * connection given where an Azure Resource Manager one is expected, and an organization URL that
 * reaches no organization. Each message names the input and the fix; refusals write nothing.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { grantClusterView } from './cluster-view';
import { runBundledTask, type TaskRun } from '../agent/agent';
import { E2E_TIME_SCALE, OTHER_CONNECTIONS, startCloud, type Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH } from '../emulators/names';
import type { CloudState } from '../emulators/state';

const root = path.resolve(import.meta.dirname, '..', '..');
const TASK_DIR = path.join(root, 'dist', 'tasks', 'FluxOidcProvision');

let cloud: Cloud;
let converged: CloudState;

async function provision(inputs: Record<string, string> = {}): Promise<{ run: TaskRun; mark: number }> {
  const mark = cloud.ctx.journal.mark();
  const run = await runBundledTask({
    taskDir: TASK_DIR,
    inputs: {
      mode: 'apply',
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      ...inputs,
    },
    env: cloud.env,
    timeoutMs: 120_000,
  });
  return { run, mark };
}

const why = (run: TaskRun) => `\n--- ${run.result}: ${run.message}\n${run.log.slice(-4000)}`;
const writes = (mark: number) => cloud.ctx.journal.writes({ since: mark }).filter((e) => e.service === 'arm');
const identity = (s: CloudState) =>
  s.azure.subscriptions[0]!.resourceGroups.find((g) => g.name === FRESH.resourceGroup)!.identities.find(
    (i) => i.name === FRESH.identityName,
  )!;

before(async () => {
  assert.ok(fs.existsSync(path.join(TASK_DIR, 'main.js')), `${TASK_DIR}/main.js is missing: run npm run build first`);
  cloud = await startCloud({ timeScale: E2E_TIME_SCALE, scenario: 'converged' });
  converged = structuredClone(cloud.ctx.state);
  const rt = kubeRuntime(cloud.ctx);
  await rt.cluster(FRESH.clusterName)!.ensureBooted();
  await rt.settled();
  grantClusterView(cloud);
});

after(async () => {
  await cloud?.stop();
});

beforeEach(() => {
  cloud.ctx.state.azure = structuredClone(converged.azure);
  cloud.ctx.state.devops = structuredClone(converged.devops);
});

describe('inputs checked against the cluster', () => {
  test('a Flux namespace where no Flux runs is refused before any write, naming fluxNamespace', async () => {
    const { run, mark } = await provision({ fluxNamespace: 'flux' });
    assert.equal(run.result, 'Failed', why(run));
    assert.match(run.message, /fluxNamespace is flux, but no Flux controller runs there; Flux runs in flux-system/);
    assert.match(run.message, /set fluxNamespace: flux-system/);
    assert.deepEqual(writes(mark), [], 'nothing written');
  });

  test('a service account no Flux controller runs as warns, with a guess', async () => {
    const { run } = await provision({ serviceAccounts: 'source-controler' });
    assert.equal(run.result, 'SucceededWithIssues', why(run));
    assert.match(run.message, /^done with \d+ warnings?: /, 'the result says what it warned about');
    const w = run.issues.find((i) => i.type === 'warning' && /source-controler/.test(i.message));
    assert.ok(w, why(run));
    assert.match(w.message, /serviceAccounts names 'source-controler' \(did you mean 'source-controller'\?\)/);
  });

  test('the inputs that match the cluster pass quietly', async () => {
    const { run } = await provision();
    assert.equal(run.result, 'Succeeded', why(run));
    assert.ok(!run.issues.some((i) => /Flux controller/.test(i.message)), why(run));
  });
});

describe('a shared identity reaching its 20 federated credentials', () => {
  test('20 of 20: the run warns that the next cluster needs another identity', async () => {
    const fics = identity(cloud.ctx.state).federatedIdentityCredentials;
    for (let i = 0; fics.length < 20; i++)
      fics.push({
        name: `flux-aks-other-${i}`,
        issuer: `https://oidc.prod-aks.azure.com/${FRESH.tenantId}/other-${i}/`,
        subject: 'system:serviceaccount:flux-system:source-controller',
        audiences: ['api://AzureADTokenExchange'],
      });
    const { run } = await provision();
    assert.equal(run.result, 'SucceededWithIssues', why(run));
    assert.match(run.message, /20 of 20 federated credentials; the next cluster \(2 credentials\) will not fit/);
    assert.match(run.log, /identityName input/);
  });
});

describe('a connection of another type where an Azure Resource Manager one is expected', () => {
  for (const [kind, c] of Object.entries(OTHER_CONNECTIONS)) {
    test(`${kind} connection in azureSubscription: the error names the input and the kind`, async () => {
      const { run, mark } = await provision({ azureSubscription: c.id });
      assert.equal(run.result, 'Failed', why(run));
      assert.match(
        run.message,
        new RegExp(`is a ${kind === 'kubernetes' ? 'Kubernetes' : 'generic'} service connection`),
      );
      assert.match(run.message, /azureSubscription needs an Azure Resource Manager service connection/);
      assert.match(
        run.message,
        /Fix: name an Azure Resource Manager service connection in the azureSubscription input/,
      );
      assert.deepEqual(writes(mark), []);
    });
  }
});

describe('an organization URL that reaches no organization', () => {
  for (const url of ['https://127.0.0.1:9/contoso', 'https://contoso.example.invalid/']) {
    test(url, async () => {
      const { run } = await provision({ organizationUrl: url });
      assert.equal(run.result, 'Failed', why(run));
      assert.match(
        run.message,
        /Could not reach the Azure DevOps organization .* \(organizationUrl\): network error E[A-Z]+/,
      );
      assert.match(
        run.message,
        /Fix: set organizationUrl to your organization's URL, https:\/\/dev\.azure\.com\/<organization>/,
      );
    });
  }

  test('an organization the host does not have (HTTP 404)', async () => {
    const base = cloud.env.SYSTEM_COLLECTIONURI!.replace(/\/contoso\/?$/, '');
    const { run } = await provision({ organizationUrl: `${base}/contosso` });
    assert.equal(run.result, 'Failed', why(run));
    assert.match(run.message, /\(organizationUrl\): no such organization \(HTTP 404\)/);
  });
});
