/**
 * The emulated Azure Resource Manager's front door and the answers real ARM gives that a lenient
 * emulator would not: api-versions checked per resource type against the versions the REST specs
 * publish, an unknown subscription (404 SubscriptionNotFound), a stale If-Match (412), a partial AKS
 * PUT (replaces the model, it is not a patch), and the endpoints ARM serves itself (tenants,
 * subscriptions, resource groups, providers, metadata/endpoints). Raw HTTPS, asserting status,
 * error code and message as a client reads them.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClientSecretCredential } from '@azure/identity';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { httpsRequest, type HttpsResult } from '../../emulators/core/context';
import { addApp, entraOptions, type TestApp } from '../../emulators/azure/testing';
import { FRESH } from '../../emulators/names';

let cloud: Cloud;
let owner: TestApp;
let token: string;

const RG_PATH = `/subscriptions/${FRESH.subscriptionId}/resourceGroups/${FRESH.resourceGroup}`;
const CLUSTER = `${RG_PATH}/providers/Microsoft.ContainerService/managedClusters/${FRESH.clusterName}`;
const IDENTITY = `${RG_PATH}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${FRESH.identityName}`;
const AKS_VERSION = '2026-04-01';

async function tokenFor(app: TestApp): Promise<string> {
  const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
  return (await cred.getToken('https://management.azure.com/.default')).token;
}

async function arm(
  method: string,
  path: string,
  apiVersion: string | undefined,
  o: { body?: unknown; headers?: Record<string, string>; bearer?: string } = {},
): Promise<HttpsResult> {
  const url = new URL(`${cloud.ctx.urls.arm}${path}`);
  if (apiVersion) url.searchParams.set('api-version', apiVersion);
  const headers: Record<string, string> = { authorization: `Bearer ${o.bearer ?? token}`, ...o.headers };
  const init: { method: string; headers: Record<string, string>; body?: string } = { method, headers };
  if (o.body !== undefined) {
    init.body = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  return httpsRequest(cloud.ctx.ca, url.toString(), init);
}

function armError(res: HttpsResult): { code: string; message: string } {
  return res.json<{ error: { code: string; message: string } }>().error;
}

/** Polls the cluster until its operation has finished (the emulated LRO ends on status reads). */
async function settled(): Promise<Record<string, unknown>> {
  for (let i = 0; i < 20; i++) {
    const c = (await arm('GET', CLUSTER, AKS_VERSION)).json<{ properties: { provisioningState: string } }>();
    if (c.properties.provisioningState !== 'Updating') return c as unknown as Record<string, unknown>;
    cloud.ctx.clock.advance(1000);
  }
  throw new Error('the cluster operation did not finish');
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
  owner = addApp(cloud, { name: 'arm-owner', role: 'Owner' });
  token = await tokenFor(owner);
});
after(async () => {
  await cloud.stop();
});

describe('api-version, per resource type', () => {
  test('a date-shaped version no spec publishes is 400 NoRegisteredProviderFound with the supported versions', async () => {
    const res = await arm('GET', CLUSTER, '2024-13-45');
    assert.equal(res.status, 400);
    const e = armError(res);
    assert.equal(e.code, 'NoRegisteredProviderFound');
    assert.match(
      e.message,
      /^No registered resource provider found for location '[a-z0-9]+' and API version '2024-13-45' for type 'managedClusters'\. The supported api-versions are '2026-10-01, 2026-08-01, .*2017-08-31'\. The supported locations are '.*westeurope.*'\.$/,
    );
    assert.ok(e.message.includes(`, ${AKS_VERSION}, `), 'the version the product SDK sends is listed');
  });

  test('the versions clients send are accepted (az 2.45: 2022-11-01 / 2022-01-31-preview; the JS SDKs: 2026-04-01 / 2024-11-30)', async () => {
    assert.equal((await arm('GET', CLUSTER, '2022-11-01')).status, 200);
    assert.equal((await arm('GET', CLUSTER, AKS_VERSION)).status, 200);
    await arm('PUT', IDENTITY, '2024-11-30', { body: { location: FRESH.location } });
    assert.equal((await arm('GET', IDENTITY, '2022-01-31-preview')).status, 200);
    assert.equal((await arm('GET', `${IDENTITY}/federatedIdentityCredentials`, '2024-11-30')).status, 200);
  });

  test('the check is per type: 2018-11-30 serves identities but predates federated credentials', async () => {
    assert.equal((await arm('GET', IDENTITY, '2018-11-30')).status, 200);
    const res = await arm('GET', `${IDENTITY}/federatedIdentityCredentials`, '2018-11-30');
    assert.equal(res.status, 400);
    const e = armError(res);
    assert.equal(e.code, 'NoRegisteredProviderFound');
    assert.match(e.message, /for type 'userAssignedIdentities\/federatedIdentityCredentials'/);
    const listed = /The supported api-versions are '([^']*)'/.exec(e.message)?.[1] ?? '';
    assert.ok(listed.endsWith('2022-01-31-preview'), listed);
    assert.ok(!listed.includes('2018-11-30'), listed);
  });

  test('types ARM serves itself answer 400 InvalidApiVersionParameter with the supported versions', async () => {
    for (const path of ['/subscriptions', `/subscriptions/${FRESH.subscriptionId}/resourcegroups`, '/tenants']) {
      const res = await arm('GET', path, '2024-13-45');
      assert.equal(res.status, 400, path);
      const e = armError(res);
      assert.equal(e.code, 'InvalidApiVersionParameter', path);
      assert.match(
        e.message,
        /^The api-version '2024-13-45' is invalid\. The supported versions are '2024-11-01,.*2022-12-01,/,
      );
    }
  });

  test('no api-version at all is 400 MissingApiVersionParameter', async () => {
    const res = await arm('GET', CLUSTER, undefined);
    assert.equal(res.status, 400);
    assert.equal(armError(res).code, 'MissingApiVersionParameter');
  });
});

describe('subscriptions', () => {
  test('an unknown subscription is 404 SubscriptionNotFound, also for a caller without any role', async () => {
    const stranger = await tokenFor(addApp(cloud, { name: 'no-roles' }));
    const path = `/subscriptions/7d2c5a9e-4b1f-4e3a-9c6d-2f8e1a0b3c4d/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c`;
    for (const bearer of [token, stranger]) {
      const res = await arm('GET', path, AKS_VERSION, { bearer });
      assert.equal(res.status, 404);
      assert.deepEqual(armError(res), {
        code: 'SubscriptionNotFound',
        message: "The subscription '7d2c5a9e-4b1f-4e3a-9c6d-2f8e1a0b3c4d' could not be found.",
      });
    }
  });

  test('GET /subscriptions lists the subscriptions the caller holds a role in; GET /tenants the home tenant', async () => {
    const subs = (await arm('GET', '/subscriptions', '2022-12-01')).json<{ value: Record<string, unknown>[] }>();
    assert.deepEqual(
      subs.value.map((s) => [s.subscriptionId, s.tenantId, s.state]),
      [[FRESH.subscriptionId, FRESH.tenantId, 'Enabled']],
    );
    const stranger = await tokenFor(addApp(cloud, { name: 'no-subs' }));
    const none = await arm('GET', '/subscriptions', '2022-12-01', { bearer: stranger });
    assert.deepEqual(none.json<{ value: unknown[] }>().value, []);
    const tenants = (await arm('GET', '/tenants', '2022-12-01')).json<{ value: { tenantId: string }[] }>();
    assert.deepEqual(
      tenants.value.map((t) => t.tenantId),
      [FRESH.tenantId],
    );
  });

  test('resource groups: GET, HEAD (204/404) and list; providers list their types with the api-versions', async () => {
    const rg = await arm('GET', RG_PATH, '2022-09-01');
    assert.equal(rg.status, 200);
    assert.equal(rg.json<{ name: string }>().name, FRESH.resourceGroup);
    assert.equal((await arm('HEAD', RG_PATH, '2022-09-01')).status, 204);
    assert.equal((await arm('HEAD', `${RG_PATH}-nope`, '2022-09-01')).status, 404);
    const missing = await arm('GET', `${RG_PATH}-nope`, '2022-09-01');
    assert.equal(missing.status, 404);
    assert.equal(armError(missing).code, 'ResourceGroupNotFound');
    const p = await arm(
      'GET',
      `/subscriptions/${FRESH.subscriptionId}/providers/Microsoft.ContainerService`,
      '2022-09-01',
    );
    const types = p.json<{ resourceTypes: { resourceType: string; apiVersions: string[] }[] }>().resourceTypes;
    const mc = types.find((t) => t.resourceType === 'managedClusters');
    assert.ok(mc?.apiVersions.includes(AKS_VERSION));
  });

  test('metadata/endpoints answers without a token and names the emulated Entra as the login endpoint', async () => {
    const res = await httpsRequest(cloud.ctx.ca, `${cloud.ctx.urls.arm}/metadata/endpoints?api-version=2015-01-01`);
    assert.equal(res.status, 200);
    const body = res.json<{ authentication: { loginEndpoint: string; audiences: string[] } }>();
    assert.equal(body.authentication.loginEndpoint, `${cloud.ctx.urls.entra}/`);
    assert.equal(body.authentication.audiences[0], 'https://management.core.windows.net/');
  });
});

describe('AKS PUT', () => {
  test('a stale If-Match is 412 PreconditionFailed; the current eTag is accepted; If-None-Match * on an existing cluster is 412', async () => {
    const c = (await arm('GET', CLUSTER, AKS_VERSION)).json<Record<string, unknown> & { eTag: string }>();
    const stale = await arm('PUT', CLUSTER, AKS_VERSION, { body: c, headers: { 'if-match': '"0000stale"' } });
    assert.equal(stale.status, 412);
    assert.equal(armError(stale).code, 'PreconditionFailed');
    const create = await arm('PUT', CLUSTER, AKS_VERSION, { body: c, headers: { 'if-none-match': '*' } });
    assert.equal(create.status, 412);
    const okRes = await arm('PUT', CLUSTER, AKS_VERSION, { body: c, headers: { 'if-match': `"${c.eTag}"` } });
    assert.equal(okRes.status, 200);
    const after = await settled();
    assert.notEqual(after.eTag, c.eTag, 'a successful write changes the eTag');
  });

  test('a partial body replaces the model: left-out workload identity and tags are reset, not kept', async () => {
    const c = (await arm('GET', CLUSTER, AKS_VERSION)).json<{
      location: string;
      properties: Record<string, unknown> & { dnsPrefix: string; agentPoolProfiles: unknown[] };
    }>();
    const full = {
      ...c,
      tags: { team: 'platform' },
      properties: {
        ...c.properties,
        oidcIssuerProfile: { enabled: true },
        securityProfile: { workloadIdentity: { enabled: true } },
      },
    };
    assert.equal((await arm('PUT', CLUSTER, AKS_VERSION, { body: full })).status, 200);
    await settled();
    const partial = {
      location: c.location,
      properties: {
        dnsPrefix: c.properties.dnsPrefix,
        agentPoolProfiles: c.properties.agentPoolProfiles,
        oidcIssuerProfile: { enabled: true },
      },
    };
    assert.equal((await arm('PUT', CLUSTER, AKS_VERSION, { body: partial })).status, 200);
    const after = (await settled()) as { tags: Record<string, string>; properties: Record<string, unknown> };
    assert.deepEqual(after.tags, {});
    assert.deepEqual(after.properties.securityProfile, {});
    assert.equal((after.properties.oidcIssuerProfile as { enabled: boolean }).enabled, true);
  });

  test('a partial body meets the validation a whole model does', async () => {
    const c = (await arm('GET', CLUSTER, AKS_VERSION)).json<{
      location: string;
      properties: Record<string, unknown> & { dnsPrefix: string; agentPoolProfiles: unknown[] };
    }>();
    const cases: [string, unknown, number, string, RegExp][] = [
      [
        'no agent pools',
        {
          location: c.location,
          properties: { dnsPrefix: c.properties.dnsPrefix, oidcIssuerProfile: { enabled: true } },
        },
        400,
        'InvalidParameter',
        /Required parameter agentPoolProfiles is missing/,
      ],
      [
        'no dnsPrefix',
        {
          location: c.location,
          properties: { agentPoolProfiles: c.properties.agentPoolProfiles, oidcIssuerProfile: { enabled: true } },
        },
        400,
        'PropertyChangeNotAllowed',
        /Changing property 'dnsPrefix' is not allowed/,
      ],
      [
        'no OIDC issuer profile on a cluster that has it on (Kubernetes < 1.34: default off)',
        {
          location: c.location,
          properties: { dnsPrefix: c.properties.dnsPrefix, agentPoolProfiles: c.properties.agentPoolProfiles },
        },
        400,
        'BadRequest',
        /OIDC issuer feature cannot be disabled/,
      ],
      ['no properties', { location: c.location }, 400, 'InvalidParameter', /Required parameter properties is missing/],
    ];
    for (const [what, body, status, code, message] of cases) {
      const res = await arm('PUT', CLUSTER, AKS_VERSION, { body });
      assert.equal(res.status, status, what);
      assert.equal(armError(res).code, code, what);
      assert.match(armError(res).message, message, what);
    }
  });
});
