/**
 * The emulated Entra ID driven by @azure/identity: client secret, certificate and federated
 * assertions, and every rejection a user can meet (wrong issuer / subject / audience, expired
 * assertion, unknown client, no federated credentials, unreachable issuer, propagation delay), with
 * the status and `error` Entra answers them with (raw token requests, below).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { startCloud, type Cloud } from '../../emulators/cloud';
import {
  addApp,
  entraOptions,
  jwtClaims,
  startTestIssuer,
  type TestApp,
  type TestIssuer,
} from '../../emulators/azure/testing';
import { httpsRequest } from '../../emulators/core/context';
import { AZURE_DEVOPS_RESOURCE_ID, FRESH } from '../../emulators/names';

const SUBJECT = 'system:serviceaccount:flux-system:source-controller';
const ARM_SCOPE = 'https://management.azure.com/.default';

let cloud: Cloud;
let issuer: TestIssuer;
let fedApp: TestApp;

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
  issuer = await startTestIssuer(cloud);
  fedApp = addApp(cloud, {
    name: 'federated-app',
    role: 'Reader',
    fics: [{ name: 'flux-source', issuer: issuer.issuer, subject: SUBJECT }],
  });
});
after(async () => {
  await issuer.close();
  await cloud.stop();
});

function assertionCredential(clientId: string, assertion: () => string): ClientAssertionCredential {
  return new ClientAssertionCredential(FRESH.tenantId, clientId, async () => assertion(), entraOptions(cloud));
}

async function rejection(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof Error, 'expected the token request to fail');
  return e.message;
}

describe('client secret', () => {
  test('issues an ARM access token carrying the principal', async () => {
    const app = addApp(cloud, { name: 'secret-app' });
    const token = await new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud)).getToken(
      ARM_SCOPE,
    );
    assert.ok(token);
    const c = jwtClaims(token.token);
    assert.equal(c.aud, 'https://management.azure.com/');
    assert.equal(c.oid, app.objectId);
    assert.equal(c.appid, app.appId);
    assert.equal(c.tid, FRESH.tenantId);
    assert.ok(token.expiresOnTimestamp > Date.now());
  });

  test('a wrong secret is AADSTS7000215', async () => {
    const app = addApp(cloud, { name: 'secret-app-2' });
    const msg = await rejection(
      new ClientSecretCredential(FRESH.tenantId, app.appId, 'not-the-secret', entraOptions(cloud)).getToken(ARM_SCOPE),
    );
    assert.match(msg, /AADSTS7000215: Invalid client secret provided/);
  });

  test('an unknown client id is AADSTS700016', async () => {
    const msg = await rejection(
      new ClientSecretCredential(
        FRESH.tenantId,
        '11111111-2222-4333-8444-555555555555',
        'x',
        entraOptions(cloud),
      ).getToken(ARM_SCOPE),
    );
    assert.match(msg, /AADSTS700016: Application with identifier '11111111-2222-4333-8444-555555555555' was not found/);
  });

  test('the tenant domain works as the tenant, and the Azure DevOps scope gives the Azure DevOps audience', async () => {
    const app = addApp(cloud, { name: 'ado-app' });
    const token = await new ClientSecretCredential(
      FRESH.tenantDomain,
      app.appId,
      app.secret,
      entraOptions(cloud),
    ).getToken(`${AZURE_DEVOPS_RESOURCE_ID}/.default`);
    assert.equal(jwtClaims(token.token).aud, AZURE_DEVOPS_RESOURCE_ID);
    assert.equal(cloud.ctx.entra.verifyAccessToken(token.token, AZURE_DEVOPS_RESOURCE_ID).ok, true);
    const wrong = cloud.ctx.entra.verifyAccessToken(token.token, 'https://management.azure.com/');
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.code, 'InvalidAuthenticationTokenAudience');
  });

  test('every ARM scope form a client sends gives an ARM token', async () => {
    const app = addApp(cloud, { name: 'scopes-app' });
    const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
    for (const [scope, aud] of [
      ['https://management.core.windows.net//.default', 'https://management.core.windows.net/'],
      ['https://management.azure.com/.default', 'https://management.azure.com/'],
      [`${cloud.ctx.urls.arm}/.default`, 'https://management.azure.com/'],
    ]) {
      const token = await cred.getToken(scope!);
      assert.equal(jwtClaims(token.token).aud, aud, scope);
    }
    const msg = await rejection(cred.getToken('https://unknown.example.com/.default'));
    assert.match(
      msg,
      /AADSTS500011: The resource principal named https:\/\/unknown.example.com was not found in the tenant named/,
    );
  });
});

describe('client certificate', () => {
  test('a registered certificate signs in; another one is AADSTS700027', async () => {
    const app = addApp(cloud, { name: 'cert-app', certificate: true });
    const pem = `${app.certificate!.certPem}\n${app.certificate!.keyPem}`;
    const token = await new ClientCertificateCredential(
      FRESH.tenantId,
      app.appId,
      { certificate: pem },
      entraOptions(cloud),
    ).getToken(ARM_SCOPE);
    assert.equal(jwtClaims(token.token).oid, app.objectId);

    const other = addApp(cloud, { name: 'other-cert-app', certificate: true });
    const otherPem = `${other.certificate!.certPem}\n${other.certificate!.keyPem}`;
    const msg = await rejection(
      new ClientCertificateCredential(
        FRESH.tenantId,
        app.appId,
        { certificate: otherPem },
        entraOptions(cloud),
      ).getToken(ARM_SCOPE),
    );
    assert.match(msg, /AADSTS700027/);
  });
});

describe('federated assertion (workload identity federation)', () => {
  test('a matching issuer, subject and audience gets a token', async () => {
    const token = await assertionCredential(fedApp.appId, () => issuer.sign({ sub: SUBJECT })).getToken(ARM_SCOPE);
    assert.equal(jwtClaims(token.token).oid, fedApp.objectId);
  });

  test('a wrong subject is AADSTS700213 naming the subject (case-sensitive)', async () => {
    const sub = 'system:serviceaccount:flux-system:Source-Controller';
    const msg = await rejection(assertionCredential(fedApp.appId, () => issuer.sign({ sub })).getToken(ARM_SCOPE));
    assert.match(
      msg,
      /AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:flux-system:Source-Controller'/,
    );
  });

  test('an issuer without its trailing slash is AADSTS700211', async () => {
    const iss = issuer.issuer.replace(/\/$/, '');
    const msg = await rejection(
      assertionCredential(fedApp.appId, () => issuer.sign({ sub: SUBJECT, iss })).getToken(ARM_SCOPE),
    );
    assert.match(
      msg,
      new RegExp(`AADSTS700211: No matching federated identity record found for presented assertion issuer '${iss}'`),
    );
  });

  test('a wrong audience is AADSTS700212', async () => {
    const msg = await rejection(
      assertionCredential(fedApp.appId, () => issuer.sign({ sub: SUBJECT, aud: ['api://SomethingElse'] })).getToken(
        ARM_SCOPE,
      ),
    );
    assert.match(
      msg,
      /AADSTS700212: No matching federated identity record found for presented assertion audience 'api:\/\/SomethingElse'/,
    );
  });

  test('an expired assertion is AADSTS700024', async () => {
    const now = cloud.ctx.clock.nowSeconds();
    const msg = await rejection(
      assertionCredential(fedApp.appId, () =>
        issuer.sign({ sub: SUBJECT, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
      ).getToken(ARM_SCOPE),
    );
    assert.match(msg, /AADSTS700024: Client assertion is not within its valid time range/);
  });

  test('an assertion signed with a key the issuer does not publish is AADSTS7000272 (key rollover)', async () => {
    const impostor = await startTestIssuer(cloud, 'impostor');
    try {
      // Same iss as the trusted issuer, but signed with the impostor's key: the trusted JWKS has no such kid.
      const msg = await rejection(
        assertionCredential(fedApp.appId, () => impostor.sign({ sub: SUBJECT, iss: issuer.issuer })).getToken(
          ARM_SCOPE,
        ),
      );
      assert.match(
        msg,
        new RegExp(
          `AADSTS7000272: The certificate with identifier \\S+ used to sign the federated credential could not be found in the metadata of identity provider ${issuer.issuer}`,
        ),
      );
    } finally {
      await impostor.close();
    }
  });

  test('an app without federated credentials is AADSTS70025', async () => {
    const app = addApp(cloud, { name: 'no-fic-app' });
    const msg = await rejection(
      assertionCredential(app.appId, () => issuer.sign({ sub: SUBJECT })).getToken(ARM_SCOPE),
    );
    assert.match(
      msg,
      new RegExp(
        `AADSTS70025: The client '${app.appId}'\\(no-fic-app\\) has no configured federated identity credentials`,
      ),
    );
  });

  test('an issuer whose discovery cannot be fetched is AADSTS90061', async () => {
    const gone = await startTestIssuer(cloud, 'gone');
    const app = addApp(cloud, {
      name: 'gone-issuer-app',
      fics: [{ name: 'gone', issuer: gone.issuer, subject: SUBJECT }],
    });
    const assertion = gone.sign({ sub: SUBJECT });
    await gone.close();
    const msg = await rejection(assertionCredential(app.appId, () => assertion).getToken(ARM_SCOPE));
    assert.match(msg, /AADSTS90061: Request to External OIDC endpoint failed/);
  });

  test('generic mode answers every mismatch with AADSTS70021 and the assertion claims', async () => {
    cloud.ctx.state.azure.tenant.federationErrors = 'generic';
    try {
      const msg = await rejection(
        assertionCredential(fedApp.appId, () => issuer.sign({ sub: 'system:serviceaccount:x:y' })).getToken(ARM_SCOPE),
      );
      assert.match(
        msg,
        /AADSTS70021: No matching federated identity record found for presented assertion\. Assertion Issuer: '[^']+'\. Assertion Subject: 'system:serviceaccount:x:y'\. Assertion Audience: 'api:\/\/AzureADTokenExchange'/,
      );
    } finally {
      cloud.ctx.state.azure.tenant.federationErrors = 'detailed';
    }
  });

  test('a new federated credential is honoured only after the propagation delay (emulated clock)', async () => {
    cloud.ctx.state.azure.tenant.ficPropagationDelayMs = 60_000;
    try {
      const app = addApp(cloud, { name: 'fresh-fic-app' });
      cloud.ctx.state.azure.tenant.applications
        .find((a) => a.appId === app.appId)!
        .federatedIdentityCredentials!.push({
          name: 'new',
          issuer: issuer.issuer,
          subject: SUBJECT,
          audiences: ['api://AzureADTokenExchange'],
          createdAt: cloud.ctx.clock.now(),
        });
      const msg = await rejection(
        assertionCredential(app.appId, () => issuer.sign({ sub: SUBJECT })).getToken(ARM_SCOPE),
      );
      assert.match(msg, /AADSTS70021/);
      cloud.ctx.clock.advance(61_000);
      const token = await assertionCredential(app.appId, () => issuer.sign({ sub: SUBJECT })).getToken(ARM_SCOPE);
      assert.equal(jwtClaims(token.token).oid, app.objectId);
    } finally {
      cloud.ctx.state.azure.tenant.ficPropagationDelayMs = 0;
    }
  });
});

/** A raw client-credentials request with a federated assertion, as MSAL sends it (token-v2-client-credentials.federated-request.http). */
async function rawFederated(assertion: string, scope = ARM_SCOPE) {
  const body = new URLSearchParams({
    scope,
    client_id: fedApp.appId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    grant_type: 'client_credentials',
  }).toString();
  const res = await httpsRequest(cloud.ctx.ca, `${cloud.ctx.urls.entra}/${FRESH.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: res.status, body: res.json<{ error?: string; error_codes?: number[]; access_token?: string }>() };
}

describe('federated assertion: status and error as Entra answers them', () => {
  test('issuer, subject and audience mismatches and an unknown signing key are 401 invalid_client', async () => {
    const impostor = await startTestIssuer(cloud, 'impostor-raw');
    try {
      const cases: [string, string, number][] = [
        ['issuer', issuer.sign({ sub: SUBJECT, iss: issuer.issuer.replace(/\/$/, '') }), 700211],
        ['subject', issuer.sign({ sub: `${SUBJECT}x` }), 700213],
        ['audience', issuer.sign({ sub: SUBJECT, aud: ['api://SomethingElse'] }), 700212],
        ['signing key', impostor.sign({ sub: SUBJECT, iss: issuer.issuer }), 7000272],
      ];
      for (const [what, assertion, code] of cases) {
        const r = await rawFederated(assertion);
        assert.equal(r.status, 401, what);
        assert.equal(r.body.error, 'invalid_client', what);
        assert.deepEqual(r.body.error_codes, [code], what);
      }
    } finally {
      await impostor.close();
    }
  });

  test('an unknown resource is 400 invalid_resource AADSTS500011; a non-.default scope stays AADSTS70011', async () => {
    const unknown = await rawFederated(issuer.sign({ sub: SUBJECT }), 'https://foo.example.com/.default');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'invalid_resource');
    assert.deepEqual(unknown.body.error_codes, [500011]);
    const malformed = await rawFederated(
      issuer.sign({ sub: SUBJECT }),
      'https://management.azure.com/user_impersonation',
    );
    assert.equal(malformed.body.error, 'invalid_scope');
    assert.deepEqual(malformed.body.error_codes, [70011]);
  });

  test('the assertion lifetime allows 5 minutes of clock skew, as for certificate assertions', async () => {
    const now = cloud.ctx.clock.nowSeconds();
    const within = [
      issuer.sign({ sub: SUBJECT, iat: now - 3600, nbf: now - 3600, exp: now - 240 }),
      issuer.sign({ sub: SUBJECT, iat: now + 240, nbf: now + 240, exp: now + 3600 }),
    ];
    for (const a of within) assert.equal((await rawFederated(a)).status, 200);
    const beyond = [
      issuer.sign({ sub: SUBJECT, iat: now - 3600, nbf: now - 3600, exp: now - 360 }),
      issuer.sign({ sub: SUBJECT, iat: now + 360, nbf: now + 360, exp: now + 3600 }),
    ];
    for (const a of beyond) {
      const r = await rawFederated(a);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.error_codes, [700024]);
    }
  });
});

describe('access token lifetime', () => {
  test('ARM refuses a token once it expired on the emulated clock', async () => {
    cloud.ctx.state.azure.tenant.accessTokenLifetimeSeconds = 600;
    try {
      const app = addApp(cloud, { name: 'short-token-app', role: 'Reader' });
      const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
      const client = new ManagedServiceIdentityClient(cred, FRESH.subscriptionId, {
        endpoint: cloud.ctx.urls.arm,
        credentialScopes: [ARM_SCOPE],
      });
      const list = async () => {
        for await (const _ of client.userAssignedIdentities.listByResourceGroup(FRESH.resourceGroup)) {
          /* drain */
        }
      };
      await list();
      cloud.ctx.clock.advance(601_000);
      // MSAL still holds the token (it uses the real clock); ARM, on the emulated clock, sees it expired.
      const e = await list().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.equal((e as { statusCode?: number }).statusCode, 401);
      assert.equal((e as { code?: string }).code, 'ExpiredAuthenticationToken');
    } finally {
      cloud.ctx.state.azure.tenant.accessTokenLifetimeSeconds = 3599;
    }
  });
});
