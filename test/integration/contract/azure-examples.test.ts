/**
 * Contract replay: every official example in test/fixtures/api-examples/{arm-msi,arm-aks,arm-resources,entra}
 * that is a request or response of an emulated route is sent to the emulators as it is written
 * (path parameters, query, body), and the answer must have the example's status and shape (every
 * field of the example present with the same JSON type). Documented exceptions are listed where
 * they apply (options a cluster was created with that the emulator does not model).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { startCloud, type Cloud } from '../../emulators/cloud';
import { httpsRequest, type HttpsResult } from '../../emulators/core/context';
import { addApp, entraOptions, startTestIssuer, type TestApp, type TestIssuer } from '../../emulators/azure/testing';
import { FRESH } from '../../emulators/names';

const EXAMPLES = path.resolve(import.meta.dirname, '../../fixtures/api-examples');
/** The MSI examples use the placeholder subscription `subid`; ARM only has GUID subscriptions, so it stands for this one. */
const SUBID = '5a1e0d6c-3b2f-4c1d-9e8f-7a6b5c4d3e2f';

interface Example {
  parameters: Record<string, unknown> & { 'api-version': string };
  responses: Record<string, { body?: unknown }>;
}

function example(rel: string): Example {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, rel), 'utf8')) as Example;
}

/** Every field of `expected` must exist in `actual` with the same JSON type (arrays: first elements compared). */
function shapeDiff(expected: unknown, actual: unknown, ignore: string[] = [], at = ''): string[] {
  if (ignore.includes(at)) return [];
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${at || '(body)'}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length === 0) return [];
    if (a.length === 0) return [`${at}: expected a non-empty array`];
    return shapeDiff(expected[0], a[0], ignore, `${at}[]`);
  }
  if (kind(expected) === 'object') {
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, v]) =>
      shapeDiff(v, (actual as Record<string, unknown>)[k], ignore, at ? `${at}.${k}` : k),
    );
  }
  return [];
}

function assertShape(expected: unknown, res: HttpsResult, ignore: string[] = []): void {
  assert.deepEqual(
    shapeDiff(expected, res.json(), ignore),
    [],
    `response shape differs from the example:\n${res.body.toString('utf8').slice(0, 2000)}`,
  );
}

let cloud: Cloud;
let app: TestApp;
let token: string;
let issuer: TestIssuer;

async function arm(method: string, p: string, query: Record<string, string>, body?: unknown): Promise<HttpsResult> {
  const url = new URL(`${cloud.ctx.urls.arm}${p}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const init: { method: string; headers: Record<string, string>; body?: string } = {
    method,
    headers: { authorization: `Bearer ${token}` },
  };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  return httpsRequest(cloud.ctx.ca, url.toString(), init);
}

function sub(p: Example['parameters']): string {
  return p.subscriptionId === 'subid' ? SUBID : String(p.subscriptionId);
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
  const azure = cloud.ctx.state.azure;
  azure.subscriptions.push(
    {
      id: SUBID,
      displayName: 'examples (subid)',
      resourceGroups: [{ name: 'rgName', location: 'eastus', identities: [], clusters: [] }],
    },
    {
      id: 'c267c0e7-0a73-4789-9e17-d26aeb0904e5',
      displayName: 'examples (fic)',
      resourceGroups: [{ name: 'rgName', location: 'eastus', identities: [], clusters: [] }],
    },
    {
      id: '00000000-0000-0000-0000-000000000000',
      displayName: 'examples (aks)',
      resourceGroups: [{ name: 'rg1', location: 'location1', identities: [], clusters: [] }],
    },
  );
  app = addApp(cloud, { name: 'contract', role: 'Owner', scope: '/subscriptions/' + FRESH.subscriptionId });
  for (const s of azure.subscriptions.slice(1))
    azure.roleAssignments.push({ principalId: app.objectId, role: 'Owner', scope: `/subscriptions/${s.id}` });
  token = (
    await new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud)).getToken(
      'https://management.azure.com/.default',
    )
  ).token;
  issuer = await startTestIssuer(cloud);
});
after(async () => {
  await issuer.close();
  await cloud.stop();
});

describe('arm-msi examples', () => {
  const idPath = (p: Example['parameters']) =>
    `/subscriptions/${sub(p)}/resourceGroups/${String(p.resourceGroupName)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${String(p.resourceName)}`;

  test('IdentityCreate: 201 on create, 200 on update', async () => {
    const ex = example('arm-msi/IdentityCreate.2024-11-30.json');
    const q = { 'api-version': ex.parameters['api-version'] };
    const created = await arm('PUT', idPath(ex.parameters), q, ex.parameters.parameters);
    assert.equal(created.status, 201);
    assertShape(ex.responses['201']!.body, created);
    assert.deepEqual((created.json() as { tags: unknown }).tags, { key1: 'value1', key2: 'value2' });
    const updated = await arm('PUT', idPath(ex.parameters), q, ex.parameters.parameters);
    assert.equal(updated.status, 200);
    assertShape(ex.responses['200']!.body, updated);
    assert.ok(created.headers['x-ms-request-id'], 'ARM answers carry x-ms-request-id');
    assert.ok(created.headers['x-ms-correlation-request-id']);
  });

  test('IdentityGet: 200', async () => {
    const ex = example('arm-msi/IdentityGet.2024-11-30.json');
    const res = await arm('GET', idPath(ex.parameters), { 'api-version': ex.parameters['api-version'] });
    assert.equal(res.status, 200);
    assertShape(ex.responses['200']!.body, res);
  });

  test('FederatedIdentityCredentialCreate / Get / List: 201, 200, 200', async () => {
    const create = example('arm-msi/FederatedIdentityCredentialCreate.2024-11-30.json');
    const p = create.parameters;
    await arm('PUT', idPath(p), { 'api-version': p['api-version'] }, { location: 'eastus' });
    const ficPath = `${idPath(p)}/federatedIdentityCredentials/${String(p.federatedIdentityCredentialResourceName)}`;
    const q = { 'api-version': p['api-version'] };
    const first = await arm('PUT', ficPath, q, p.parameters);
    assert.equal(first.status, 201);
    assertShape(create.responses['201']!.body, first);
    const second = await arm('PUT', ficPath, q, p.parameters);
    assert.equal(second.status, 200);
    assertShape(create.responses['200']!.body, second);

    const get = example('arm-msi/FederatedIdentityCredentialGet.2024-11-30.json');
    const got = await arm('GET', ficPath, { 'api-version': get.parameters['api-version'] });
    assert.equal(got.status, 200);
    assertShape(get.responses['200']!.body, got);

    const list = example('arm-msi/FederatedIdentityCredentialList.2024-11-30.json');
    const lp = list.parameters;
    const listPath = `${idPath(lp)}/federatedIdentityCredentials`;
    // The example's page ends with a nextLink: give the identity one more credential than $top allows on a page.
    await arm('PUT', `${listPath}/second-fic`, q, {
      properties: {
        issuer: 'https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID',
        subject: 'system:serviceaccount:ns:other',
        audiences: ['api://AzureADTokenExchange'],
      },
    });
    const listed = await arm('GET', listPath, { 'api-version': lp['api-version'], $top: '1' });
    assert.equal(listed.status, 200);
    assertShape(list.responses['200']!.body, listed);
    const all = await arm('GET', listPath, { 'api-version': lp['api-version'], $top: String(lp.top) });
    assert.equal((all.json() as { value: unknown[] }).value.length, 2);
  });

  test('FederatedIdentityCredentialDelete and IdentityDelete: 200, then 204', async () => {
    for (const file of [
      'arm-msi/FederatedIdentityCredentialDelete.2024-11-30.json',
      'arm-msi/IdentityDelete.2024-11-30.json',
    ]) {
      const ex = example(file);
      const p = ex.parameters;
      const target = p.federatedIdentityCredentialResourceName
        ? `${idPath(p)}/federatedIdentityCredentials/${String(p.federatedIdentityCredentialResourceName)}`
        : idPath(p);
      const q = { 'api-version': p['api-version'] };
      if (!p.federatedIdentityCredentialResourceName) await arm('PUT', target, q, { location: 'eastus' });
      assert.deepEqual(
        [(await arm('DELETE', target, q)).status, (await arm('DELETE', target, q)).status],
        [200, 204],
        file,
      );
      assert.ok(ex.responses['200'] && ex.responses['204']);
    }
  });
});

describe('arm-aks examples', () => {
  const clusterPath = (p: Example['parameters']) =>
    `/subscriptions/${sub(p)}/resourceGroups/${String(p.resourceGroupName)}/providers/Microsoft.ContainerService/managedClusters/${String(p.resourceName)}`;
  /** Options the example cluster was created with and the emulator does not model. */
  const NOT_MODELLED = [
    'properties.diskEncryptionSetID',
    'properties.upgradeSettings',
    'properties.windowsProfile',
    'properties.networkProfile.loadBalancerProfile.outboundIPs',
    'properties.securityProfile.defender',
  ];

  test('ManagedClustersCreate_SecurityProfile: 201 Creating with Azure-AsyncOperation; once done, the same PUT is 200', async () => {
    const ex = example('arm-aks/ManagedClustersCreate_SecurityProfile.2026-06-01.json');
    const q = { 'api-version': ex.parameters['api-version'] };
    const created = await arm('PUT', clusterPath(ex.parameters), q, ex.parameters.parameters);
    assert.equal(created.status, 201);
    assertShape(ex.responses['201']!.body, created, NOT_MODELLED);
    assert.equal(
      (created.json() as { properties: { provisioningState: string } }).properties.provisioningState,
      'Creating',
    );
    const op = String(created.headers['azure-asyncoperation']);
    assert.ok(op.startsWith(`${cloud.ctx.urls.arm}/subscriptions/`), op);
    assert.ok(created.headers['retry-after']);
    const status = await httpsRequest(cloud.ctx.ca, op, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((status.json() as { status: string }).status, 'Succeeded');

    const updated = await arm('PUT', clusterPath(ex.parameters), q, ex.parameters.parameters);
    assert.equal(updated.status, 200);
    assertShape(ex.responses['200']!.body, updated, NOT_MODELLED);
  });

  test('ManagedClustersGet: 200', async () => {
    const ex = example('arm-aks/ManagedClustersGet.2026-08-01.json');
    const res = await arm('GET', clusterPath(ex.parameters), { 'api-version': ex.parameters['api-version'] });
    assert.equal(res.status, 200);
    assertShape(ex.responses['200']!.body, res, NOT_MODELLED);
  });

  test('ManagedClustersListClusterUserCredentials / AdminCredentials: 200 with base64 kubeconfigs', async () => {
    for (const [file, action] of [
      ['arm-aks/ManagedClustersListClusterUserCredentials.2025-10-01.json', 'listClusterUserCredential'],
      ['arm-aks/ManagedClustersListClusterAdminCredentials.2026-08-01.json', 'listClusterAdminCredential'],
    ] as const) {
      const ex = example(file);
      const res = await arm('POST', `${clusterPath(ex.parameters)}/${action}`, {
        'api-version': ex.parameters['api-version'],
      });
      assert.equal(res.status, 200, file);
      assertShape(ex.responses['200']!.body, res);
      const value = (res.json() as { kubeconfigs: { value: string }[] }).kubeconfigs[0]!.value;
      assert.match(Buffer.from(value, 'base64').toString('utf8'), /apiVersion: v1/);
    }
  });
});

describe('arm-resources examples (what ARM serves itself)', () => {
  // Optional fields the emulated subscription/tenant/provider leave out (no managing tenants, no
  // tags, no edge-zone location mappings, a single page) are not part of the contract.
  test('GetSubscription -> 200 in the example shape', async () => {
    const ex = example('arm-resources/GetSubscription.2022-12-01.json');
    const res = await arm('GET', `/subscriptions/${FRESH.subscriptionId}`, {
      'api-version': ex.parameters['api-version'],
    });
    assert.equal(res.status, 200, res.body.toString('utf8'));
    assertShape(ex.responses['200']!.body, res, ['managedByTenants', 'tags']);
    assert.equal((res.json() as { subscriptionId: string }).subscriptionId, FRESH.subscriptionId);
  });

  test('GetTenants -> 200 in the example shape', async () => {
    const ex = example('arm-resources/GetTenants.2022-12-01.json');
    const res = await arm('GET', '/tenants', { 'api-version': ex.parameters['api-version'] });
    assert.equal(res.status, 200, res.body.toString('utf8'));
    assertShape(ex.responses['200']!.body, res, ['nextLink']);
  });

  test('GetProvider -> 200 in the example shape (for Microsoft.ContainerService; the example names a test RP)', async () => {
    const ex = example('arm-resources/GetProvider.2022-09-01.json');
    const res = await arm('GET', `/subscriptions/${FRESH.subscriptionId}/providers/Microsoft.ContainerService`, {
      'api-version': ex.parameters['api-version'],
    });
    assert.equal(res.status, 200, res.body.toString('utf8'));
    assertShape(ex.responses['200']!.body, res, ['resourceTypes[].locationMappings']);
  });

  test('the example api-versions are refused for the wrong type: 2022-12-01 is no AKS version', async () => {
    const res = await arm(
      'GET',
      `/subscriptions/${FRESH.subscriptionId}/resourceGroups/${FRESH.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${FRESH.clusterName}`,
      { 'api-version': '2022-12-01' },
    );
    assert.equal(res.status, 400);
    assert.equal((res.json() as { error: { code: string } }).error.code, 'NoRegisteredProviderFound');
  });
});

describe('entra examples', () => {
  const tokenUrl = () => `${cloud.ctx.urls.entra}/${FRESH.tenantId}/oauth2/v2.0/token`;
  const post = (form: Record<string, string>) =>
    httpsRequest(cloud.ctx.ca, tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });

  /** The example request's form fields (the .http file's body, line breaks removed). */
  function federatedRequest(): Record<string, string> {
    const text = fs.readFileSync(
      path.join(EXAMPLES, 'entra/token-v2-client-credentials.federated-request.http'),
      'utf8',
    );
    const body = text
      .split(/\r?\n\r?\n/)[1]!
      .split(/\r?\n/)
      .map((l) => l.trim())
      .join('');
    return Object.fromEntries(new URLSearchParams(body));
  }

  test('federated request -> success response', async () => {
    const form = federatedRequest();
    const sc = 'system:serviceaccount:ns:workload';
    cloud.ctx.state.azure.tenant.applications.push({
      displayName: 'example-client',
      appId: form.client_id!,
      servicePrincipalObjectId: '0d6f1f44-1b9b-4c55-9a38-4e1c7a0b9f11',
      federatedIdentityCredentials: [
        { name: 'example', issuer: issuer.issuer, subject: sc, audiences: ['api://AzureADTokenExchange'] },
      ],
    });
    // The example's assertion is elided ("{a lot of characters here}"): a real one from the test issuer takes its place.
    form.client_assertion = issuer.sign({ sub: sc });
    const res = await post(form);
    assert.equal(res.status, 200, res.body.toString('utf8'));
    assertShape(
      JSON.parse(
        fs.readFileSync(path.join(EXAMPLES, 'entra/token-v2-client-credentials.success-response.json'), 'utf8'),
      ),
      res,
    );
  });

  test('an invalid scope -> the error response examples (AADSTS70011)', async () => {
    // Both examples answer a scope Entra cannot accept with invalid_scope 70011. The 2016 doc example
    // names `https://foo.microsoft.com/.default`, a well-formed scope of a resource the tenant lacks:
    // today's Entra answers that AADSTS500011 (next test), so the example is replayed for what it
    // still documents, the invalid_scope body, with a scope that is not `<resource>/.default`.
    for (const [file, scope] of [
      ['entra/token-v2-client-credentials.error-response.json', 'https://foo.microsoft.com/user_impersonation'],
      ['entra/aadsts-error-response.sample.json', 'https://example.contoso.com/activity.read'],
    ] as const) {
      const expected = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as {
        error: string;
        error_codes: number[];
      };
      const res = await post({
        client_id: app.appId,
        client_secret: app.secret,
        grant_type: 'client_credentials',
        scope,
      });
      assert.equal(res.status, 400, file);
      assertShape(expected, res);
      const body = res.json() as { error: string; error_codes: number[]; error_description: string };
      assert.equal(body.error, expected.error);
      assert.deepEqual(body.error_codes, expected.error_codes);
      assert.match(body.error_description, /^AADSTS70011: .*\r\nTrace ID: .*\r\nCorrelation ID: .*\r\nTimestamp: /);
    }
  });

  test('a resource the tenant does not have -> AADSTS500011 invalid_resource (reference-error-codes)', async () => {
    const expected = JSON.parse(
      fs.readFileSync(
        path.join(EXAMPLES, 'entra/aadsts500011-resource-principal-not-found.error-response.json'),
        'utf8',
      ),
    ) as { error: string; error_codes: number[] };
    const res = await post({
      client_id: app.appId,
      client_secret: app.secret,
      grant_type: 'client_credentials',
      scope: 'https://foo.microsoft.com/.default',
    });
    assert.equal(res.status, 400);
    assertShape(expected, res);
    const body = res.json() as { error: string; error_codes: number[]; error_description: string };
    assert.equal(body.error, expected.error);
    assert.deepEqual(body.error_codes, expected.error_codes);
    assert.match(
      body.error_description,
      /^AADSTS500011: The resource principal named https:\/\/foo.microsoft.com was not found in the tenant named /,
    );
  });

  test('an assertion signed with a key its issuer does not publish -> the AADSTS7000272 answer (401 invalid_client)', async () => {
    const expected = JSON.parse(
      fs.readFileSync(path.join(EXAMPLES, 'entra/aadsts7000272-signing-key-not-found.error-response.json'), 'utf8'),
    ) as { error: string; error_codes: number[] };
    const other = await startTestIssuer(cloud, 'rotated');
    try {
      const form = federatedRequest();
      // The app of 'federated request -> success response' (registered above) trusts issuer for this subject.
      form.client_assertion = other.sign({ sub: 'system:serviceaccount:ns:workload', iss: issuer.issuer });
      const res = await post(form);
      assert.equal(res.status, 401);
      assertShape(expected, res);
      const body = res.json() as { error: string; error_codes: number[]; error_description: string };
      assert.equal(body.error, expected.error);
      assert.deepEqual(body.error_codes, expected.error_codes);
      assert.match(
        body.error_description,
        new RegExp(`could not be found in the metadata of identity provider ${issuer.issuer}\\.`),
      );
    } finally {
      await other.close();
    }
  });

  test('no matching federated credential -> the AADSTS70021 example', async () => {
    const expected = JSON.parse(
      fs.readFileSync(
        path.join(EXAMPLES, 'entra/aadsts70021-no-matching-federated-identity.error-response.json'),
        'utf8',
      ),
    ) as { error: string; error_codes: number[] };
    cloud.ctx.state.azure.tenant.federationErrors = 'generic';
    try {
      const form = federatedRequest();
      form.client_assertion = issuer.sign({ sub: 'system:serviceaccount:default:workload-identity-sa' });
      const res = await post(form);
      assert.equal(res.status, 400);
      assertShape(expected, res);
      const body = res.json() as { error: string; error_codes: number[]; error_description: string };
      assert.equal(body.error, expected.error);
      assert.deepEqual(body.error_codes, expected.error_codes);
      assert.match(
        body.error_description,
        /Assertion Subject: 'system:serviceaccount:default:workload-identity-sa'\. Assertion Audience: 'api:\/\/AzureADTokenExchange'/,
      );
    } finally {
      cloud.ctx.state.azure.tenant.federationErrors = 'detailed';
    }
  });
});
