/**
 * Microsoft.ContainerService managedClusters through @azure/arm-containerservice: GET, the PUT
 * long-running operation through the SDK poller (enable OIDC issuer + workload identity), 409 while
 * busy or while an operation runs, the issuer that cannot be disabled, failing operations, and the
 * cluster credentials.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClientSecretCredential } from '@azure/identity';
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { addApp, entraOptions, type TestApp } from '../../emulators/azure/testing';
import { aksIssuerUrl, FRESH } from '../../emulators/names';

const RG = FRESH.resourceGroup;
const NAME = FRESH.clusterName;

let cloud: Cloud;
let aks: ContainerServiceClient;

function clientFor(app: TestApp): ContainerServiceClient {
  const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
  return new ContainerServiceClient(cred, FRESH.subscriptionId, {
    endpoint: cloud.ctx.urls.arm,
    credentials: { scopes: ['https://management.azure.com/.default'] },
  });
}

function stateCluster() {
  return cloud.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!.clusters[0]!;
}

async function restError(p: Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof Error, 'expected the call to fail');
  return e as Error & { statusCode?: number; code?: string };
}

function withIdentity(c: ManagedCluster, oidc: boolean, wi: boolean): ManagedCluster {
  return {
    ...c,
    oidcIssuerProfile: { enabled: oidc },
    securityProfile: { ...c.securityProfile, workloadIdentity: { enabled: wi } },
  };
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
  aks = clientFor(addApp(cloud, { name: 'aks-admin', role: 'Contributor' }));
});
after(() => cloud.stop());

describe('managed clusters', () => {
  test('GET of the fresh cluster: issuer and workload identity off', async () => {
    const c = await aks.managedClusters.get(RG, NAME);
    assert.equal(c.name, NAME);
    assert.equal(c.location, FRESH.location);
    assert.equal(c.provisioningState, 'Succeeded');
    assert.equal(c.kubernetesVersion, FRESH.kubernetesVersion);
    assert.equal(c.oidcIssuerProfile?.enabled, false);
    assert.equal(c.oidcIssuerProfile?.issuerURL, undefined);
    assert.notEqual(c.securityProfile?.workloadIdentity?.enabled, true);
    assert.ok(c.eTag);
  });

  test('a busy cluster refuses a PUT with 409 OperationNotAllowed', async () => {
    stateCluster().busy = { operation: 'Upgrading', rejections: 1 };
    const c = await aks.managedClusters.get(RG, NAME);
    assert.equal(c.provisioningState, 'Upgrading');
    const e = await restError(aks.managedClusters.createOrUpdate(RG, NAME, withIdentity(c, true, true)));
    assert.equal(e.statusCode, 409);
    assert.equal(e.code, 'OperationNotAllowed');
    assert.match(
      e.message,
      /Operation is not allowed: Another operation \(Upgrading\) is in progress, please wait for it to finish before starting a new operation\./,
    );
    assert.equal(stateCluster().busy, undefined, 'the busy flag clears after its rejections');
  });

  test('PUT is a long-running operation: the SDK poller enables the OIDC issuer and workload identity', async () => {
    const mark = cloud.ctx.journal.mark();
    const current = await aks.managedClusters.get(RG, NAME);
    const done = await aks.managedClusters.createOrUpdate(RG, NAME, withIdentity(current, true, true));
    assert.equal(done.provisioningState, 'Succeeded');
    assert.equal(done.oidcIssuerProfile?.enabled, true);
    assert.equal(
      done.oidcIssuerProfile?.issuerURL,
      aksIssuerUrl(cloud.ctx.urls['aks-issuer'], FRESH.tenantId, FRESH.clusterIssuerId),
    );
    assert.ok(done.oidcIssuerProfile?.issuerURL?.endsWith('/'));
    assert.equal(done.securityProfile?.workloadIdentity?.enabled, true);
    const calls = cloud.ctx.journal
      .entries({ since: mark, service: 'arm' })
      .map((e) => `${e.method} ${e.path.includes('/operations/') ? 'operation' : 'cluster'} ${e.status}`);
    assert.deepEqual(calls, ['GET cluster 200', 'PUT cluster 200', 'GET operation 200', 'GET cluster 200']);
  });

  test('the OIDC issuer cannot be disabled', async () => {
    const c = await aks.managedClusters.get(RG, NAME);
    const e = await restError(aks.managedClusters.createOrUpdate(RG, NAME, withIdentity(c, false, false)));
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /OIDC issuer feature cannot be disabled/);
  });

  test('a second PUT while an operation runs gets 409; the operation ends when the emulated clock moves', async () => {
    stateCluster().lro = { clockMs: 120_000, retryAfterSeconds: 0 };
    try {
      const c = await aks.managedClusters.get(RG, NAME);
      const poller = aks.managedClusters.createOrUpdate(
        RG,
        NAME,
        { ...c, tags: { env: 'prod' } },
        { updateIntervalInMs: 5 },
      );
      await poller.submitted();
      assert.equal((await aks.managedClusters.get(RG, NAME)).provisioningState, 'Updating');
      const e = await restError(aks.managedClusters.createOrUpdate(RG, NAME, c));
      assert.equal(e.statusCode, 409);
      assert.match(e.message, /Another operation \(Updating\) is in progress/);
      cloud.ctx.clock.advance(120_000);
      const done = await poller;
      assert.deepEqual(done.tags, { env: 'prod' });
      assert.equal(done.provisioningState, 'Succeeded');
    } finally {
      delete stateCluster().lro;
    }
  });

  test('a failing operation rejects the poller with its error; a retry succeeds', async () => {
    stateCluster().lro = { fail: { count: 1, code: 'ReconcileError', message: 'The operation failed (emulated).' } };
    try {
      const c = await aks.managedClusters.get(RG, NAME);
      const e = await restError(
        Promise.resolve(aks.managedClusters.createOrUpdate(RG, NAME, { ...c, tags: { try: '1' } })),
      );
      assert.match(e.message, /The operation failed \(emulated\)/);
      assert.equal((await aks.managedClusters.get(RG, NAME)).provisioningState, 'Failed');
      const ok = await aks.managedClusters.createOrUpdate(RG, NAME, { ...c, tags: { try: '2' } });
      assert.equal(ok.provisioningState, 'Succeeded');
      assert.deepEqual(ok.tags, { try: '2' });
    } finally {
      delete stateCluster().lro;
    }
  });

  test('user and admin credentials are base64 kubeconfigs for the emulated API server', async () => {
    const user = await aks.managedClusters.listClusterUserCredentials(RG, NAME);
    const admin = await aks.managedClusters.listClusterAdminCredentials(RG, NAME);
    for (const r of [user, admin]) {
      const kubeconfig = Buffer.from(r.kubeconfigs![0]!.value!).toString('utf8');
      assert.match(kubeconfig, /kind: Config/);
      assert.ok(kubeconfig.includes(cloud.ctx.urls.kube), 'the kubeconfig points at the emulated cluster');
    }
  });

  test('a Reader may read the cluster but not change it nor list admin credentials', async () => {
    const reader = clientFor(addApp(cloud, { name: 'aks-reader', role: 'Reader' }));
    const c = await reader.managedClusters.get(RG, NAME);
    const put = await restError(reader.managedClusters.createOrUpdate(RG, NAME, c));
    assert.equal(put.statusCode, 403);
    assert.equal(put.code, 'AuthorizationFailed');
    const creds = await restError(reader.managedClusters.listClusterAdminCredentials(RG, NAME));
    assert.equal(creds.statusCode, 403);
    assert.match(creds.message, /Microsoft\.ContainerService\/managedClusters\/listClusterAdminCredential\/action/);
  });
});
