/**
 * auth/: each AzureRM scheme to a working credential, against a stubbed HTTP client that plays
 * Entra ID and the Azure DevOps OIDC endpoint (the emulated cloud gives the end-to-end proof). The
 * certificate case (real openssl) is in test/integration/auth-certificate.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MemoryLogger } from '../../tasks/common/log';
import { createAzureConnection, resolveCloud, DEVOPS_SCOPE, type ServiceEndpoint } from '../../tasks/common/auth';
import { describeError } from '../../tasks/common/pipeline/errors';
import { UserError } from '../../tasks/common/errors';
import { CLIENT, endpoint, env, FakeCloud, SC, SUB, TENANT } from './auth-fixtures';

test('WorkloadIdentityFederation: a fresh OIDC token per exchange, posted with the job token, registered as a secret', async () => {
  const http = new FakeCloud();
  const log = new MemoryLogger();
  const conn = await createAzureConnection(
    endpoint('workloadidentityfederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(http, log),
  );
  assert.equal(conn.scheme, 'WorkloadIdentityFederation');
  assert.equal(conn.clientId, CLIENT);
  assert.equal(conn.tenantId, TENANT);
  assert.equal(conn.subscriptionId, SUB);
  assert.equal(conn.devopsScope, DEVOPS_SCOPE);
  assert.deepEqual(conn.cloud, {
    name: 'AzureCloud',
    authorityHost: 'https://login.microsoftonline.com',
    resourceManagerUrl: 'https://management.azure.com',
    armScope: 'https://management.azure.com/.default',
  });

  const arm = await conn.credential.getToken(conn.cloud.armScope);
  const devops = await conn.credential.getToken(conn.devopsScope);
  assert.ok(arm?.token.startsWith('at-for-https://management.azure.com/.default'));
  assert.ok(devops?.token.startsWith('at-for-499b84ac-1321-427f-aa17-267ca6975798/.default'));

  // MSAL asks the assertion callback twice per exchange (request + app configuration): both get the
  // exchange's one OIDC token, so one OIDC request per exchange, never one token for two exchanges.
  const oidc = http.requests.filter((r) => r.url.includes('/oidctoken'));
  assert.equal(oidc.length, 2);
  for (const r of oidc) {
    const u = new URL(r.url);
    assert.equal(u.searchParams.get('api-version'), '7.1');
    assert.equal(u.searchParams.get('serviceConnectionId'), SC);
    assert.equal(r.method, 'POST');
    assert.equal(r.headers.authorization, 'Bearer job-access-token');
  }
  const assertions = http.tokenRequests().map((f) => f.get('client_assertion'));
  assert.equal(assertions.length, 2);
  assert.notEqual(assertions[0], assertions[1], 'each exchange used a new OIDC token');
  assert.ok(assertions.every((a) => /^oidc-jwt-\d+$/.test(a ?? '')));
  assert.ok(
    http
      .tokenRequests()
      .every((f) => f.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'),
  );
  assert.ok(log.secrets.has('oidc-jwt-1') && log.secrets.has('oidc-jwt-2') && log.secrets.has('job-access-token'));
  assert.ok(!http.requests.some((r) => r.url.includes('/common/discovery/instance')), 'instance discovery is disabled');
});

test('WorkloadIdentityFederation: access tokens are reused per scope until close to expiry; OIDC tokens never are', async () => {
  const http = new FakeCloud();
  const conn = await createAzureConnection(
    endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(http),
  );
  const [a, b] = await Promise.all([
    conn.credential.getToken(conn.cloud.armScope),
    conn.credential.getToken(conn.cloud.armScope),
  ]);
  const c = await conn.credential.getToken(conn.cloud.armScope);
  assert.equal(a?.token, b?.token);
  assert.equal(a?.token, c?.token);
  assert.equal(http.tokenRequests().length, 1, 'one exchange for three getToken calls of one scope');
  const oidcAfterArm = http.oidcCount;
  await conn.credential.getToken(conn.devopsScope);
  assert.equal(http.tokenRequests().length, 2, 'another scope is another exchange');
  assert.ok(http.oidcCount > oidcAfterArm, 'with a fresh OIDC token');
});

test('WorkloadIdentityFederation: concurrent exchanges of two scopes (one asking for CAE) each get an OIDC token of their own', async () => {
  const http = new FakeCloud();
  const conn = await createAzureConnection(
    endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(http),
  );
  const [arm, devops] = await Promise.all([
    conn.credential.getToken(conn.cloud.armScope, { enableCae: true }),
    conn.credential.getToken(conn.devopsScope),
  ]);
  assert.ok(arm?.token && devops?.token);
  const assertions = http.tokenRequests().map((f) => f.get('client_assertion'));
  assert.equal(assertions.length, 2);
  assert.notEqual(assertions[0], assertions[1]);
  assert.equal(http.oidcCount, 2, 'one OIDC request per exchange');
});

test('WorkloadIdentityFederation: an expired job token (401 from the OIDC endpoint) is a clear error with status and what to check', async () => {
  const http = new FakeCloud();
  http.oidcStatus = 401;
  const conn = await createAzureConnection(
    endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(http),
  );
  const err = await conn.credential.getToken(conn.cloud.armScope).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err, 'getToken must fail');
  const text = describeError(err).text;
  assert.match(
    text,
    /OIDC token request for service connection 9c0e1b4e-7a26-4b0a-9d3a-3c1e5d2f7a10 failed with HTTP 401/,
  );
  assert.match(text, /VS800075: The access token has expired/);
  assert.match(text, /System\.AccessToken/);
  assert.match(text, /Fix: re-run the job/);
  assert.equal(http.tokenRequests().length, 0, 'no token exchange without an OIDC token');
});

test('WorkloadIdentityFederation: 403 from the OIDC endpoint says to authorize the pipeline; a 503 is retried', async () => {
  const http = new FakeCloud();
  http.oidcStatus = 403;
  const conn = await createAzureConnection(
    endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(http),
  );
  const err = await conn.credential.getToken(conn.cloud.armScope).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.match(describeError(err).text, /HTTP 403.*grant this pipeline access/s);

  let failures = 1;
  const flaky = new FakeCloud((req) =>
    req.url.includes('/oidctoken') && failures-- > 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined,
  );
  const log = new MemoryLogger();
  const conn2 = await createAzureConnection(
    endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
    env(flaky, log),
  );
  const token = await conn2.credential.getToken(conn2.cloud.armScope);
  assert.ok(token?.token);
  assert.match(
    log.text(),
    /retrying POST https:\/\/dev\.example\/.*\/oidctoken after 503, waiting 1s \(attempt 2\/6\)/,
  );
});

test('WorkloadIdentityFederation without System.OidcRequestUri fails naming the connection', async () => {
  const http = new FakeCloud();
  await assert.rejects(
    createAzureConnection(
      endpoint('WorkloadIdentityFederation', { serviceprincipalid: CLIENT, tenantid: TENANT }),
      env(http, undefined, { oidcRequestUri: undefined }),
      { input: 'azureSubscription' },
    ),
    (e: unknown) =>
      e instanceof UserError &&
      /9c0e1b4e-7a26-4b0a-9d3a-3c1e5d2f7a10.*input azureSubscription/.test(e.message) &&
      /System\.OidcRequestUri/.test(e.message),
  );
});

test('ServicePrincipal with a secret: the secret is registered, a wrong one maps to AADSTS7000215 advice', async () => {
  const http = new FakeCloud();
  const log = new MemoryLogger();
  const conn = await createAzureConnection(
    endpoint('ServicePrincipal', {
      serviceprincipalid: CLIENT,
      tenantid: TENANT,
      serviceprincipalkey: 's3cr3t-value',
      authenticationType: 'spnKey',
    }),
    env(http, log),
  );
  assert.equal(conn.scheme, 'ServicePrincipal');
  const t = await conn.credential.getToken(conn.devopsScope);
  assert.ok(t?.token.startsWith('at-for-499b84ac'));
  assert.equal(http.tokenRequests()[0].get('client_secret'), 's3cr3t-value');
  assert.ok(log.secrets.has('s3cr3t-value'));
  assert.equal(http.requests.filter((r) => r.url.includes('/oidctoken')).length, 0);

  const bad = await createAzureConnection(
    endpoint('serviceprincipal', { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'wrong' }),
    env(new FakeCloud()),
  );
  const err = await bad.credential.getToken(bad.cloud.armScope).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.match(describeError(err).text, /AADSTS7000215.*Fix: renew the secret/s);
});

test('ServicePrincipal with a blank scheme is treated as ServicePrincipal (as azure-arm-rest does)', async () => {
  const conn = await createAzureConnection(
    endpoint(undefined, { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k' }),
    env(new FakeCloud()),
  );
  assert.equal(conn.scheme, 'ServicePrincipal');
});

test('ManagedServiceIdentity: user-assigned client id from msiclientId', async () => {
  const http = new FakeCloud();
  const conn = await createAzureConnection(
    endpoint('ManagedServiceIdentity', { tenantid: TENANT }, { msiclientId: CLIENT }),
    env(http),
  );
  assert.equal(conn.scheme, 'ManagedServiceIdentity');
  assert.equal(conn.clientId, CLIENT);
  const t = await conn.credential.getToken(conn.cloud.armScope);
  assert.equal(t?.token, 'mi-token');
  const imds = http.requests.filter(
    (r) => r.url.includes('169.254.169.254') && r.url.includes('/metadata/identity/oauth2/token'),
  );
  assert.ok(imds.length >= 1);
  assert.ok(
    imds.some((r) => new URL(r.url).searchParams.get('client_id') === CLIENT),
    'the user-assigned identity is asked for',
  );
});

test('a missing parameter is a clear error naming the connection and the parameter', async () => {
  await assert.rejects(
    createAzureConnection(endpoint('WorkloadIdentityFederation', { tenantid: TENANT }), env(new FakeCloud()), {
      input: 'azureSubscription',
    }),
    /Service connection '9c0e1b4e-7a26-4b0a-9d3a-3c1e5d2f7a10' \(input azureSubscription\) \(WorkloadIdentityFederation\) has no client id \(authorization parameter serviceprincipalid\)/,
  );
  await assert.rejects(
    createAzureConnection(
      endpoint('ServicePrincipal', { serviceprincipalid: CLIENT, tenantid: TENANT }),
      env(new FakeCloud()),
    ),
    (e: unknown) =>
      e instanceof UserError &&
      /has no client secret/.test(e.message) &&
      /Fix|set the service principal key/.test(describeError(e).text),
  );
  const noSub: ServiceEndpoint = {
    ...endpoint('ServicePrincipal', { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k' }),
    data: () => undefined,
  };
  await assert.rejects(createAzureConnection(noSub, env(new FakeCloud())), /has no subscription id/);
});

test('an unsupported scheme is a clear error naming the connection and the supported ones', async () => {
  const err = await createAzureConnection(
    endpoint('UsernamePassword', { username: 'u', password: 'p' }),
    env(new FakeCloud()),
    { input: 'azureSubscription' },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  const text = describeError(err).text;
  assert.match(
    text,
    /Service connection '9c0e1b4e-7a26-4b0a-9d3a-3c1e5d2f7a10' \(input azureSubscription\) is a generic service connection \(scheme 'UsernamePassword'\), but azureSubscription needs an Azure Resource Manager service connection/,
  );
  assert.match(
    text,
    /Fix: name an Azure Resource Manager service connection in the azureSubscription input .* with workload identity federation/,
  );
});

test('sovereign clouds: built-in defaults per environment name, and the connection data always wins', async () => {
  const us = resolveCloud(endpoint('ServicePrincipal', {}, { environment: 'AzureUSGovernment' }));
  assert.deepEqual(us, {
    name: 'AzureUSGovernment',
    authorityHost: 'https://login.microsoftonline.us',
    resourceManagerUrl: 'https://management.usgovcloudapi.net',
    armScope: 'https://management.usgovcloudapi.net/.default',
  });
  const cn = resolveCloud(endpoint('ServicePrincipal', {}, { environment: 'azurechinacloud' }));
  assert.equal(cn.name, 'AzureChinaCloud');
  assert.equal(cn.authorityHost, 'https://login.chinacloudapi.cn');
  assert.equal(cn.resourceManagerUrl, 'https://management.chinacloudapi.cn');

  // The emulated cloud's pattern: environment AzureCloud, endpoints overridden by the connection's data.
  const custom = resolveCloud(
    endpoint(
      'ServicePrincipal',
      {},
      {
        environment: 'AzureCloud',
        environmentAuthorityUrl: 'https://127.0.0.1:4431/',
        activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
      },
      'https://127.0.0.1:4432/',
    ),
  );
  assert.deepEqual(custom, {
    name: 'AzureCloud',
    authorityHost: 'https://127.0.0.1:4431',
    resourceManagerUrl: 'https://127.0.0.1:4432',
    armScope: 'https://management.core.windows.net//.default',
  });

  // The credential really talks to the connection's authority (US Gov here).
  const http = new FakeCloud();
  const conn = await createAzureConnection(
    endpoint(
      'ServicePrincipal',
      { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k' },
      { environment: 'AzureUSGovernment' },
    ),
    env(http),
  );
  await conn.credential.getToken(conn.cloud.armScope);
  assert.ok(http.requests.length > 0);
  assert.ok(
    http.requests.every((r) => new URL(r.url).origin === 'https://login.microsoftonline.us'),
    http.requests.map((r) => r.url).join('\n'),
  );
  assert.equal(http.tokenRequests()[0].get('scope')?.split(' ')[0], 'https://management.usgovcloudapi.net/.default');

  assert.throws(
    () => resolveCloud(endpoint('ServicePrincipal', {}, { environment: 'AzureStack' })),
    /environment 'AzureStack'.*has no built-in endpoints/,
  );
  assert.throws(
    () => resolveCloud(endpoint('ServicePrincipal', {}, { environmentAuthorityUrl: 'http://login.example' })),
    /is not an https URL/,
  );
});

test('the agent proxy goes to the credential and the ARM client options, except for bypassed hosts', async () => {
  const proxy = { url: 'http://proxy.corp:3128', username: 'u', password: 'p', bypass: ['127\\.0\\.0\\.1'] };
  const conn = await createAzureConnection(
    endpoint('ServicePrincipal', { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k' }),
    env(new FakeCloud(), undefined, { proxy }),
  );
  assert.deepEqual(conn.armClientOptions, {
    endpoint: 'https://management.azure.com',
    credentialScopes: ['https://management.azure.com/.default'],
    proxyOptions: { host: 'http://proxy.corp', port: 3128, username: 'u', password: 'p' },
  });
  const local = await createAzureConnection(
    endpoint(
      'ServicePrincipal',
      { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k' },
      { environmentAuthorityUrl: 'https://127.0.0.1:9/' },
      'https://127.0.0.1:8/',
    ),
    env(new FakeCloud(), undefined, { proxy }),
  );
  assert.deepEqual(local.armClientOptions, {
    endpoint: 'https://127.0.0.1:8',
    credentialScopes: ['https://management.azure.com/.default'],
  });
});
