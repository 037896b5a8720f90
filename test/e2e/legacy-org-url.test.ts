/**
 * An organization whose URL is the legacy `https://contoso.visualstudio.com/` (organizations created
 * before 2018-09-10 keep it as their primary URL; learn.microsoft.com/azure/devops/extend/develop/work-with-urls):
 * the pipeline variables carry it (System.CollectionUri, Build.Repository.Uri), the tasks are given
 * it as organizationUrl, and the full chain (Provision, ManifestPatch, Verify) runs through the
 * local runner on the `fresh` scenario with that primary URL. The names reach the emulated cloud
 * through its edge (the agent's proxy); the hosts of Graph and entitlements must come from the
 * location service (`{org}.vssps.visualstudio.com`, `{org}.vsaex.visualstudio.com`), never be built.
 *
 * Needs the build (npm run build) and the test CA (node scripts/test.mjs sets it up).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runBundledTask } from '../agent/agent';
import { checkoutSelf } from '../agent/checkout';
import { runPipeline, type PipelineRun } from '../agent/pipeline';
import { startCloud, type Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import { FRESH } from '../emulators/names';

const root = path.resolve(import.meta.dirname, '..', '..');
const ORG_URL = 'https://contoso.visualstudio.com/';
const CANONICAL = `https://dev.azure.com/${FRESH.organization}/${FRESH.project}/_git/${FRESH.repository}`;

const PIPELINE = `
steps:
- checkout: self
- task: FluxOidcProvision@1
  name: provision
  displayName: Provision
  inputs:
    mode: apply
    azureSubscription: ${FRESH.serviceConnectionName}
    resourceGroup: ${FRESH.resourceGroup}
    clusterName: ${FRESH.clusterName}
    organizationUrl: ${ORG_URL}
- task: FluxManifestPatch@1
  name: patch
  displayName: Patch
  inputs:
    mode: apply
    fluxSystemPath: ${FRESH.clusterPath}/flux-system
    clientId: $(provision.clientId)
    tenantId: $(provision.tenantId)
    commitMode: push
- task: FluxOidcVerify@1
  name: verify
  displayName: Verify
  inputs:
    mode: apply
    azureSubscription: ${FRESH.serviceConnectionName}
    resourceGroup: ${FRESH.resourceGroup}
    clusterName: ${FRESH.clusterName}
    clientId: $(provision.clientId)
    organizationUrl: ${ORG_URL}
`;

let cloud: Cloud;
let run: PipelineRun;
let log = '';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'legacy-org-'));

before(async () => {
  for (const t of ['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'])
    assert.ok(fs.existsSync(path.join(root, 'dist', 'tasks', t, 'main.js')), `${t}: run npm run build first`);
  cloud = await startCloud({
    scenario: 'fresh',
    change: (s) => {
      s.devops.organization.primaryUrl = 'legacy';
    },
  });
  run = await runPipeline({
    file: path.join(work, 'azure-pipelines.yml'),
    yaml: PIPELINE,
    cloud,
    print: (t) => {
      log += t;
    },
  });
});

after(async () => {
  await cloud?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the pipeline variables carry the legacy organization URL', () => {
  assert.equal(cloud.env.SYSTEM_COLLECTIONURI, ORG_URL);
  assert.equal(cloud.env.BUILD_REPOSITORY_URI, `${ORG_URL}${FRESH.project}/_git/${FRESH.repository}`);
});

test('Provision, ManifestPatch and Verify succeed with organizationUrl https://contoso.visualstudio.com/', () => {
  assert.equal(run.result, 'Succeeded', log);
  assert.deepEqual(
    run.steps.map((s) => [s.displayName, s.result]),
    [
      [`Checkout ${FRESH.repository}@${FRESH.branch} to s`, 'Succeeded'],
      ['Provision', 'Succeeded'],
      ['Patch', 'Succeeded'],
      ['Verify', 'Succeeded'],
    ],
  );
  const outputs = Object.assign({}, ...run.steps.map((s) => s.outputs)) as Record<string, string>;
  assert.equal(outputs['verify.verified'], 'true', log);
  assert.equal(outputs['patch.changed'], 'true', log);
});

test('Graph and entitlements are called on the hosts the location service names for the legacy URL', () => {
  const hosts = (service: string) => new Set(cloud.ctx.journal.entries({ service }).map((e) => e.host ?? '127.0.0.1'));
  assert.deepEqual([...hosts('vssps')], ['contoso.vssps.visualstudio.com']);
  assert.deepEqual([...hosts('vsaex')], ['contoso.vsaex.visualstudio.com']);
  const pushes = cloud.ctx.journal.entries({ service: 'devops', writesOnly: true, path: /\/pushes$/ });
  assert.ok(pushes.length > 0, 'ManifestPatch pushed a commit');
  assert.ok(
    pushes.every((e) => e.host === 'contoso.visualstudio.com'),
    JSON.stringify(pushes),
  );
});

test('the GitRepository URL written is the canonical https://dev.azure.com form', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'clone-'));
  const clone = await checkoutSelf({
    repositoryUrl: cloud.env.BUILD_REPOSITORY_URI!,
    sourceBranch: `refs/heads/${FRESH.branch}`,
    accessToken: cloud.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN!,
    dir,
    caFile: cloud.env.NODE_EXTRA_CA_CERTS!,
    persistCredentials: false,
    proxy: { url: cloud.edgeUrl, bypass: [] },
  });
  assert.ok(clone.ok, clone.log);
  const committed = fs.readFileSync(path.join(dir, FRESH.clusterPath, 'flux-system', 'kustomization.yaml'), 'utf8');
  assert.ok(committed.includes(CANONICAL), committed);
  assert.ok(!/visualstudio\.com/.test(committed), committed);

  const store = kubeRuntime(cloud.ctx).cluster(FRESH.clusterName)!.store;
  const def = store.byKind('source.toolkit.fluxcd.io', 'GitRepository')!;
  const repo = store.get(def, FRESH.fluxNamespace, 'flux-system') as { spec?: { url?: string } } | undefined;
  assert.equal(repo?.spec?.url, CANONICAL);
});

test('Verify also takes the TFS-era form https://contoso.visualstudio.com/DefaultCollection/', async () => {
  const mark = cloud.ctx.journal.mark();
  const r = await runBundledTask({
    taskDir: path.join(root, 'dist', 'tasks', 'FluxOidcVerify'),
    env: cloud.env,
    timeoutMs: 300_000,
    inputs: {
      azureSubscription: cloud.serviceConnections[FRESH.serviceConnectionName]!,
      resourceGroup: FRESH.resourceGroup,
      clusterName: FRESH.clusterName,
      organizationUrl: `${ORG_URL}DefaultCollection/`,
    },
  });
  assert.equal(r.result, 'Succeeded', `${r.message}\n${r.log}`);
  assert.equal(r.outputs.verified, 'true');
  const connect = cloud.ctx.journal.entries({ since: mark, service: 'devops', path: 'connectionData' });
  assert.ok(connect.length > 0 && connect.every((e) => e.path === '/DefaultCollection/_apis/connectionData'));
});
