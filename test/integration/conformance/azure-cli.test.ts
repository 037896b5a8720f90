/**
 * Conformance with a real client nobody here wrote: Debian's azure-cli runs, unmodified, against the
 * emulated cloud (see azure-cli.ts for how it is pointed at it). It signs in with a federated token
 * (workload identity federation, as a pipeline's service connection does), reads the account, shows and updates the AKS cluster (az 2.45's `az aks update
 * --enable-oidc-issuer`; workload identity through `az resource update`, a generic GET + full PUT,
 * since `--enable-workload-identity` came to the core CLI after 2.45), and manages a user-assigned
 * identity and its federated credentials.
 *
 * In CI (CI=true) a missing az fails the suite; locally it is skipped with the reason printed.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { addApp, startTestIssuer, type TestApp, type TestIssuer } from '../../emulators/azure/testing';
import { FRESH } from '../../emulators/names';
import { findAz, startAz, type AzSession } from './azure-cli';

const found = findAz();
const inCi = process.env.CI === 'true';
if (!found.az && !inCi) console.log(`# skipping the Azure CLI conformance suite: ${found.reason}`);

const SUBJECT = 'sc://contoso/platform/aks-prod';
const AKS_ISSUER_PREFIX = /^https:\/\/127\.0\.0\.1:\d+\//;

describe('Azure CLI against the emulated cloud', { skip: !found.az && !inCi ? found.reason : false }, () => {
  let cloud: Cloud;
  let issuer: TestIssuer;
  let app: TestApp;
  let az: AzSession;

  before(async () => {
    assert.ok(found.az, found.reason);
    cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
    // The update's operation finishes at the first status read and asks for no wait between polls.
    cloud.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!.clusters[0]!.lro = { retryAfterSeconds: 0 };
    issuer = await startTestIssuer(cloud);
    app = addApp(cloud, {
      name: 'az-conformance',
      role: 'Contributor',
      fics: [{ name: 'pipeline', issuer: issuer.issuer, subject: SUBJECT }],
    });
    az = await startAz(cloud);
  });
  after(async () => {
    await az?.close();
    await issuer?.close();
    await cloud?.stop();
  });

  test('az login --service-principal --federated-token, then az account show', async () => {
    const token = issuer.sign({ sub: SUBJECT });
    const subs = await az.ok<{ id: string; tenantId: string; state: string }[]>([
      'login',
      '--service-principal',
      '--username',
      app.appId,
      '--tenant',
      FRESH.tenantId,
      '--federated-token',
      token,
    ]);
    assert.deepEqual(
      subs.map((s) => [s.id, s.tenantId, s.state]),
      [[FRESH.subscriptionId, FRESH.tenantId, 'Enabled']],
    );
    const account = await az.ok<{ id: string; tenantId: string; user: { name: string; type: string } }>([
      'account',
      'show',
    ]);
    assert.equal(account.id, FRESH.subscriptionId);
    assert.equal(account.tenantId, FRESH.tenantId);
    assert.deepEqual(account.user, { name: app.appId, type: 'servicePrincipal' });
  });

  test('a federated token with the wrong subject is refused with the AADSTS code Entra sends', async () => {
    const r = await az.run([
      'login',
      '--service-principal',
      '--username',
      app.appId,
      '--tenant',
      FRESH.tenantId,
      '--federated-token',
      issuer.sign({ sub: `${SUBJECT}-other` }),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AADSTS700213/);
  });

  test('az aks show, az aks update --enable-oidc-issuer, and workload identity through a full PUT', async () => {
    const args = ['--resource-group', FRESH.resourceGroup, '--name', FRESH.clusterName];
    const before = await az.ok<{ oidcIssuerProfile: { enabled: boolean }; provisioningState: string }>([
      'aks',
      'show',
      ...args,
    ]);
    assert.equal(before.oidcIssuerProfile.enabled, false);
    assert.equal(before.provisioningState, 'Succeeded');
    const updated = await az.ok<{ oidcIssuerProfile: { enabled: boolean; issuerUrl: string } }>([
      'aks',
      'update',
      ...args,
      '--enable-oidc-issuer',
    ]);
    assert.equal(updated.oidcIssuerProfile.enabled, true);
    assert.match(updated.oidcIssuerProfile.issuerUrl, AKS_ISSUER_PREFIX);
    const id = `/subscriptions/${FRESH.subscriptionId}/resourceGroups/${FRESH.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${FRESH.clusterName}`;
    // No --api-version: az looks the newest one up in GET /subscriptions/{id}/providers/Microsoft.ContainerService.
    const after = await az.ok<{
      properties: {
        oidcIssuerProfile: { enabled: boolean };
        securityProfile: { workloadIdentity?: { enabled: boolean } };
      };
    }>([
      'resource',
      'update',
      '--ids',
      id,
      '--set',
      'properties.securityProfile={"workloadIdentity":{"enabled":true}}',
    ]);
    assert.equal(after.properties.oidcIssuerProfile.enabled, true);
    assert.equal(after.properties.securityProfile.workloadIdentity?.enabled, true);
    const cluster = cloud.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!.clusters[0]!;
    assert.equal(cluster.workloadIdentity, true, 'the emulated cluster state changed, not only the answer');
  });

  test('az identity create/show and federated-credential create/list/delete', async () => {
    const rg = ['--resource-group', FRESH.resourceGroup];
    const created = await az.ok<{ name: string; clientId: string; principalId: string; location: string }>([
      'identity',
      'create',
      ...rg,
      '--name',
      FRESH.identityName,
    ]);
    assert.equal(created.name, FRESH.identityName);
    assert.equal(created.location, FRESH.location, 'the location comes from the resource group (GET resourcegroups)');
    const shown = await az.ok<{ clientId: string }>(['identity', 'show', ...rg, '--name', FRESH.identityName]);
    assert.equal(shown.clientId, created.clientId);

    const fic = [...rg, '--identity-name', FRESH.identityName];
    const subject = 'system:serviceaccount:flux-system:source-controller';
    await az.ok([
      'identity',
      'federated-credential',
      'create',
      ...fic,
      '--name',
      'flux-source-controller',
      '--issuer',
      issuer.issuer,
      '--subject',
      subject,
      '--audiences',
      'api://AzureADTokenExchange',
    ]);
    const list = await az.ok<{ name: string; issuer: string; subject: string; audiences: string[] }[]>([
      'identity',
      'federated-credential',
      'list',
      ...fic,
    ]);
    assert.deepEqual(
      list.map((f) => [f.name, f.issuer, f.subject, f.audiences]),
      [['flux-source-controller', issuer.issuer, subject, ['api://AzureADTokenExchange']]],
    );
    await az.ok(['identity', 'federated-credential', 'delete', ...fic, '--name', 'flux-source-controller', '--yes']);
    // Read back from the emulated state rather than with one more az run (each costs seconds).
    const identity = cloud.ctx.state.azure.subscriptions[0]!.resourceGroups[0]!.identities.find(
      (i) => i.name === FRESH.identityName,
    );
    assert.deepEqual(identity?.federatedIdentityCredentials, []);
  });
});
