/**
 * Microsoft.ManagedIdentity through @azure/arm-msi: identities, federated credentials and their
 * rules (names, one audience, 600-char fields, unique issuer+subject, 20 per identity, concurrent
 * writes), RBAC (403), throttling honoured by the SDK, the journal, and the full workload identity
 * loop (an identity created through ARM signs in with a federated assertion).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClientAssertionCredential, ClientSecretCredential } from '@azure/identity';
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
import { FRESH, TOKEN_EXCHANGE_AUDIENCE } from '../../emulators/names';

const RG = FRESH.resourceGroup;
const ARM_SCOPE = 'https://management.azure.com/.default';

let cloud: Cloud;
let issuer: TestIssuer;
let admin: TestApp;
let msi: ManagedServiceIdentityClient;

function clientFor(app: TestApp): ManagedServiceIdentityClient {
  const cred = new ClientSecretCredential(FRESH.tenantId, app.appId, app.secret, entraOptions(cloud));
  return new ManagedServiceIdentityClient(cred, FRESH.subscriptionId, {
    endpoint: cloud.ctx.urls.arm,
    credentialScopes: [ARM_SCOPE],
  });
}

async function restError(p: Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof Error, 'expected the call to fail');
  return e as Error & { statusCode?: number; code?: string };
}

function fic(subject: string, audiences: string[] = [TOKEN_EXCHANGE_AUDIENCE]) {
  return { issuer: issuer.issuer, subject, audiences };
}

before(async () => {
  cloud = await startCloud({ scenario: 'fresh', services: ['azure'] });
  cloud.ctx.state.azure.arm = { ficWriteMs: 30 };
  issuer = await startTestIssuer(cloud);
  admin = addApp(cloud, { name: 'platform-admin', role: 'Contributor' });
  msi = clientFor(admin);
});
after(async () => {
  await issuer.close();
  await cloud.stop();
});

describe('user-assigned identities', () => {
  test('create, read, tag, list; the identity becomes a service principal that can federate', async () => {
    const created = await msi.userAssignedIdentities.createOrUpdate(RG, 'flux-aks-prod', {
      location: 'westeurope',
      tags: { owner: 'platform' },
    });
    assert.equal(created.name, 'flux-aks-prod');
    assert.equal(created.tenantId, FRESH.tenantId);
    assert.match(created.clientId!, /^[0-9a-f-]{36}$/);
    assert.match(created.principalId!, /^[0-9a-f-]{36}$/);
    assert.equal(
      created.id,
      `/subscriptions/${FRESH.subscriptionId}/resourcegroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/flux-aks-prod`,
    );

    const again = await msi.userAssignedIdentities.createOrUpdate(RG, 'flux-aks-prod', {
      location: 'westeurope',
      tags: { owner: 'platform' },
    });
    assert.equal(again.clientId, created.clientId, 'a second PUT keeps the identity');
    const patched = await msi.userAssignedIdentities.update(RG, 'flux-aks-prod', { tags: { owner: 'sre' } });
    assert.deepEqual(patched.tags, { owner: 'sre' });
    const read = await msi.userAssignedIdentities.get(RG, 'flux-aks-prod');
    assert.deepEqual(read.tags, { owner: 'sre' });
    const names: string[] = [];
    for await (const i of msi.userAssignedIdentities.listByResourceGroup(RG)) names.push(i.name!);
    assert.deepEqual(names, ['flux-aks-prod']);

    const principal = cloud.ctx.entra.principal(created.principalId!);
    assert.equal(principal?.appId, created.clientId);
    assert.equal(principal?.kind, 'managedIdentity');

    const subject = 'system:serviceaccount:flux-system:source-controller';
    await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'flux-aks-prod',
      'flux-source-controller-aks-prod',
      fic(subject),
    );
    const cred = new ClientAssertionCredential(
      FRESH.tenantId,
      created.clientId!,
      async () => issuer.sign({ sub: subject }),
      entraOptions(cloud),
    );
    const token = await cred.getToken('499b84ac-1321-427f-aa17-267ca6975798/.default');
    assert.equal(jwtClaims(token.token).oid, created.principalId);
  });

  test('with a replication delay, a new identity signs in only once the directory caught up (emulated clock)', async () => {
    cloud.ctx.state.azure.tenant.replicationDelayMs = 30_000;
    try {
      const i = await msi.userAssignedIdentities.createOrUpdate(RG, 'slow-replica', { location: 'westeurope' });
      const subject = 'system:serviceaccount:flux-system:slow';
      await msi.federatedIdentityCredentials.createOrUpdate(RG, 'slow-replica', 'slow', fic(subject));
      assert.equal(cloud.ctx.entra.principal(i.principalId!), undefined);
      const cred = () =>
        new ClientAssertionCredential(
          FRESH.tenantId,
          i.clientId!,
          async () => issuer.sign({ sub: subject }),
          entraOptions(cloud),
        );
      const early = await restError(cred().getToken(ARM_SCOPE));
      assert.match(early.message, /AADSTS700016/);
      cloud.ctx.clock.advance(30_000);
      assert.equal(cloud.ctx.entra.principal(i.principalId!)?.appId, i.clientId);
      assert.equal(jwtClaims((await cred().getToken(ARM_SCOPE)).token).oid, i.principalId);
    } finally {
      cloud.ctx.state.azure.tenant.replicationDelayMs = 0;
    }
  });

  test('a missing identity is a 404 ResourceNotFound; a bad name is refused', async () => {
    const e = await restError(msi.userAssignedIdentities.get(RG, 'nope-identity'));
    assert.equal(e.statusCode, 404);
    assert.equal(e.code, 'ResourceNotFound');
    const bad = await restError(msi.userAssignedIdentities.createOrUpdate(RG, 'x!', { location: 'westeurope' }));
    assert.equal(bad.statusCode, 400);
    const rg = await restError(
      msi.userAssignedIdentities.createOrUpdate('rg-missing', 'some-identity', { location: 'westeurope' }),
    );
    assert.equal(rg.code, 'ResourceGroupNotFound');
  });

  test('delete answers 200, then 204 when already gone; its principal leaves the directory', async () => {
    const i = await msi.userAssignedIdentities.createOrUpdate(RG, 'to-delete', { location: 'westeurope' });
    const mark = cloud.ctx.journal.mark();
    await msi.userAssignedIdentities.delete(RG, 'to-delete');
    await msi.userAssignedIdentities.delete(RG, 'to-delete');
    assert.deepEqual(
      cloud.ctx.journal.entries({ since: mark, method: 'DELETE' }).map((e) => e.status),
      [200, 204],
    );
    assert.equal(cloud.ctx.entra.principal(i.principalId!), undefined);
  });
});

describe('federated identity credentials', () => {
  before(async () => {
    await msi.userAssignedIdentities.createOrUpdate(RG, 'fic-rules', { location: 'westeurope' });
  });

  test('names must match the documented pattern', async () => {
    for (const name of ['ab', '-starts-with-dash', 'has.dot', 'x'.repeat(121)]) {
      const e = await restError(
        msi.federatedIdentityCredentials.createOrUpdate(RG, 'fic-rules', name, fic('system:serviceaccount:a:b')),
      );
      assert.equal(e.statusCode, 400, name);
      assert.match(
        e.message,
        new RegExp(`Federated Identity Credential name '${name.replace(/\./g, '\\.')}' is invalid`),
      );
    }
  });

  test('exactly one audience, fields up to 600 characters, all properties present', async () => {
    const two = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(
        RG,
        'fic-rules',
        'two-audiences',
        fic('s:a', [TOKEN_EXCHANGE_AUDIENCE, 'api://other']),
      ),
    );
    assert.equal(two.message, 'Federated identity credentials must have exactly one audience.');
    const long = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(RG, 'fic-rules', 'long-subject', fic('s'.repeat(601))),
    );
    assert.equal(long.statusCode, 400);
    assert.match(long.message, /subject/);
    await msi.federatedIdentityCredentials.createOrUpdate(RG, 'fic-rules', 'max-subject', fic('s'.repeat(600)));
    const empty = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(RG, 'fic-rules', 'empty-props', { issuer: issuer.issuer }),
    );
    assert.equal(empty.message, 'Federated Identity Credential from HTTP body has empty properties');
  });

  test('issuer + subject must be unique per identity; the same name updates in place', async () => {
    await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'fic-rules',
      'unique-a',
      fic('system:serviceaccount:flux-system:unique'),
    );
    const dup = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(
        RG,
        'fic-rules',
        'unique-b',
        fic('system:serviceaccount:flux-system:unique'),
      ),
    );
    assert.equal(dup.statusCode, 400);
    assert.equal(dup.message, 'Issuer and subject combination already exists for this Managed Identity.');
    const updated = await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'fic-rules',
      'unique-a',
      fic('system:serviceaccount:flux-system:unique2'),
    );
    assert.equal(updated.subject, 'system:serviceaccount:flux-system:unique2');
  });

  test('the parent identity must exist', async () => {
    const e = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(RG, 'no-such-identity', 'orphan', fic('s:a')),
    );
    assert.equal(e.statusCode, 404);
    assert.equal(e.message, "The parent user-assigned identity doesn't exist.");
  });

  test('the 21st credential on one identity is refused', async () => {
    await msi.userAssignedIdentities.createOrUpdate(RG, 'fic-limit', { location: 'westeurope' });
    for (let i = 1; i <= 20; i++) {
      await msi.federatedIdentityCredentials.createOrUpdate(
        RG,
        'fic-limit',
        `fic-${i}`,
        fic(`system:serviceaccount:ns:sa-${i}`),
      );
    }
    const e = await restError(
      msi.federatedIdentityCredentials.createOrUpdate(RG, 'fic-limit', 'fic-21', fic('system:serviceaccount:ns:sa-21')),
    );
    assert.equal(e.statusCode, 400);
    // Listing pages through nextLink ($top / $skiptoken).
    const mark = cloud.ctx.journal.mark();
    const names: string[] = [];
    for await (const f of msi.federatedIdentityCredentials.list(RG, 'fic-limit', { top: 8 })) names.push(f.name!);
    assert.equal(names.length, 20);
    assert.equal(
      cloud.ctx.journal.count({ since: mark, service: 'arm', method: 'GET', path: 'federatedIdentityCredentials' }),
      3,
    );
  });

  test('two concurrent writes under one identity: one gets 409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity', async () => {
    await msi.userAssignedIdentities.createOrUpdate(RG, 'fic-race', { location: 'westeurope' });
    // Both requests leave in the same tick; a write that holds its identity for 1.5 s makes them
    // overlap however busy the machine is.
    cloud.ctx.state.azure.arm = { ficWriteMs: 1500 };
    const results = await Promise.allSettled([
      msi.federatedIdentityCredentials.createOrUpdate(
        RG,
        'fic-race',
        'race-source',
        fic('system:serviceaccount:flux-system:source-controller'),
      ),
      msi.federatedIdentityCredentials.createOrUpdate(
        RG,
        'fic-race',
        'race-image',
        fic('system:serviceaccount:flux-system:image-automation-controller'),
      ),
    ]);
    cloud.ctx.state.azure.arm = { ficWriteMs: 30 };
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failed.length, 1);
    const err = failed[0]!.reason as { statusCode?: number; code?: string; message: string };
    assert.equal(err.statusCode, 409);
    assert.equal(err.code, 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity');
    assert.match(
      err.message,
      /Concurrent Federated Identity Credentials writes under the same managed identity are not supported/,
    );
    // Sequential writes (what the tasks do) both succeed.
    await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'fic-race',
      'race-source',
      fic('system:serviceaccount:flux-system:source-controller'),
    );
    await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'fic-race',
      'race-image',
      fic('system:serviceaccount:flux-system:image-automation-controller'),
    );
  });
});

describe('RBAC, throttling and the journal', () => {
  test('a Reader may read but not write: 403 AuthorizationFailed naming the action and scope', async () => {
    const reader = clientFor(
      addApp(cloud, {
        name: 'reader',
        role: 'Reader',
        scope: `/subscriptions/${FRESH.subscriptionId}/resourceGroups/${RG}`,
      }),
    );
    for await (const _ of reader.userAssignedIdentities.listByResourceGroup(RG)) {
      /* reads are allowed */
    }
    const e = await restError(
      reader.userAssignedIdentities.createOrUpdate(RG, 'not-allowed', { location: 'westeurope' }),
    );
    assert.equal(e.statusCode, 403);
    assert.equal(e.code, 'AuthorizationFailed');
    assert.match(
      e.message,
      /does not have authorization to perform action 'Microsoft\.ManagedIdentity\/userAssignedIdentities\/write' over scope '\/subscriptions\/[^']+\/resourceGroups\/rg-fleet\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/not-allowed'/,
    );
    const nobody = clientFor(addApp(cloud, { name: 'no-role' }));
    const e2 = await restError(nobody.userAssignedIdentities.get(RG, 'fic-rules'));
    assert.equal(e2.statusCode, 403);
  });

  test('429 with Retry-After is retried by the SDK', async () => {
    cloud.ctx.faults.add({
      service: 'arm',
      method: 'GET',
      path: '/userAssignedIdentities/fic-rules',
      kind: '429',
      retryAfter: 1,
      count: 1,
    });
    const mark = cloud.ctx.journal.mark();
    const i = await msi.userAssignedIdentities.get(RG, 'fic-rules');
    assert.equal(i.name, 'fic-rules');
    const calls = cloud.ctx.journal.entries({ since: mark, service: 'arm' });
    assert.deepEqual(
      calls.map((c) => [c.status, c.fault]),
      [
        [429, '429'],
        [200, undefined],
      ],
    );
  });

  test('the journal counts writes, and reads are not writes', async () => {
    const mark = cloud.ctx.journal.mark();
    await msi.userAssignedIdentities.get(RG, 'fic-rules');
    for await (const _ of msi.federatedIdentityCredentials.list(RG, 'fic-rules')) {
      /* drain */
    }
    assert.equal(cloud.ctx.journal.writes({ since: mark }).length, 0);
    await msi.federatedIdentityCredentials.createOrUpdate(
      RG,
      'fic-rules',
      'journal-fic',
      fic('system:serviceaccount:j:j'),
    );
    assert.deepEqual(
      cloud.ctx.journal.writes({ since: mark }).map((e) => `${e.service} ${e.method}`),
      ['arm PUT'],
    );
  });
});
