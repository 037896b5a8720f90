/**
 * The ARM write paths' retry and wait logic, against fake SDK clients (no network, no real
 * sleeps): the concurrent federated-credential 409, the busy cluster, the bounded wait, and
 * "never PUT a cluster whose OIDC issuer and workload identity are on".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArmClients } from '../../tasks/common/azure/clients';
import { enableWorkloadIdentity } from '../../tasks/common/azure/cluster';
import { TOKEN_EXCHANGE_AUDIENCE, writeCredential } from '../../tasks/common/azure/federated';
import { MemoryLogger } from '../../tasks/common/log';
import { UserError } from '../../tasks/common/errors';
import { RetryPolicy } from '../../tasks/common/http/retry';

function restError(statusCode: number, code: string, message = code): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code });
}

/** A fake clock whose sleep advances it: waits are recorded, never slept. */
function fakeTime() {
  let t = 0;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

/** The one retry policy on the fake clock, with a fixed jitter draw. */
function fakeRetry(time: ReturnType<typeof fakeTime>, log?: MemoryLogger): RetryPolicy {
  return new RetryPolicy({ sleep: time.sleep, now: time.now, random: () => 0.5, ...(log ? { log } : {}) });
}

const ISSUER = 'https://westeurope.oic.prod-aks.azure.com/tenant/uuid/';
const CRED = {
  name: 'flux-source-controller-aks-prod',
  issuer: ISSUER,
  subject: 'system:serviceaccount:flux-system:source-controller',
  audiences: [TOKEN_EXCHANGE_AUDIENCE],
};
const IDENTITY = { resourceGroup: 'rg-fleet', name: 'flux-aks-prod' };

function msiClients(answers: (Error | 'ok')[]) {
  const calls: unknown[] = [];
  const clients = {
    subscriptionId: 'sub',
    msi: {
      federatedIdentityCredentials: {
        async createOrUpdate(_rg: string, _id: string, name: string, body: Record<string, unknown>) {
          calls.push({ name, ...body });
          const a = answers.shift() ?? 'ok';
          if (a !== 'ok') throw a;
          return { name, ...body };
        },
      },
    },
  };
  // Only the members these functions use are faked; the cast says so.
  return { clients: clients as unknown as ArmClients, calls };
}

describe('writeCredential', () => {
  it('retries the concurrent-write 409 with jittered, growing waits, then writes', async () => {
    const time = fakeTime();
    const { clients, calls } = msiClients([
      restError(409, 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity'),
      restError(409, 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity'),
      'ok',
    ]);
    const log = new MemoryLogger();
    const out = await writeCredential(clients, IDENTITY, CRED, {
      log,
      retry: fakeRetry(time, log),
    });
    assert.equal(out.issuer, ISSUER);
    assert.equal(calls.length, 3);
    assert.deepEqual(time.waits, [500, 1000], 'full jitter under a doubling ceiling');
    assert.match(
      log.text(),
      /retrying the write of the federated credential 'flux-source-controller-aks-prod' after 409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity/,
    );
  });

  it('gives up after the attempts with what to do', async () => {
    const time = fakeTime();
    const { clients, calls } = msiClients(
      Array.from({ length: 10 }, () =>
        restError(409, 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity'),
      ),
    );
    await assert.rejects(
      writeCredential(clients, IDENTITY, CRED, { log: new MemoryLogger(), retry: fakeRetry(time), maxAttempts: 3 }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'FederatedCredentialConcurrentWrites');
        assert.match(err.fix ?? '', /serialize/);
        return true;
      },
    );
    assert.equal(calls.length, 3);
  });

  it('an identity that filled up meanwhile (a parallel job took the last slots): the budget error, what to do', async () => {
    const { clients, calls } = msiClients([
      restError(
        400,
        'BadRequest',
        "Too many Federated Identity Credentials: the managed identity 'flux-dev' already has 20; the maximum is 20.",
      ),
    ]);
    await assert.rejects(
      writeCredential(clients, IDENTITY, CRED, { log: new MemoryLogger(), retry: fakeRetry(fakeTime()) }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'FederatedCredentialBudget');
        assert.match(err.message, /reached its limit of 20 federated credentials/);
        assert.match(err.cause ?? '', /Another run \(a parallel job on the same shared identity\?\)/);
        assert.match(err.fix ?? '', /identityScope: cluster/);
        return true;
      },
    );
    assert.equal(calls.length, 1, 'not retried');
  });

  it('maps the unsupported-region 405 to a fix naming identityLocation', async () => {
    const { clients } = msiClients([
      restError(
        405,
        'MethodNotAllowed',
        'The request format was unexpected: Support for federated identity credentials not enabled.',
      ),
    ]);
    await assert.rejects(
      writeCredential(clients, IDENTITY, CRED, { log: new MemoryLogger(), retry: fakeRetry(fakeTime()) }),
      /not supported for the identity 'flux-aks-prod' in its region/,
    );
  });
});

interface FakeCluster {
  oidcIssuerProfile?: { enabled?: boolean; issuerURL?: string };
  securityProfile?: { workloadIdentity?: { enabled?: boolean } };
  provisioningState?: string;
  eTag?: string;
  location: string;
}

/** A PUT's answer: ok, an error on the initial request (e.g. the busy 409), or an operation that fails. */
type PutAnswer = Error | 'ok' | { failed: string };

function aksClients(cluster: FakeCluster, putAnswers: PutAnswer[]) {
  const puts: FakeCluster[] = [];
  const ifMatch: (string | undefined)[] = [];
  let gets = 0;
  const clients = {
    subscriptionId: 'sub',
    aks: {
      managedClusters: {
        async get() {
          gets++;
          return structuredClone(cluster);
        },
        createOrUpdate(_rg: string, _name: string, body: FakeCluster, options?: { ifMatch?: string }) {
          puts.push(body);
          ifMatch.push(options?.ifMatch);
          const a = putAnswers.shift() ?? 'ok';
          // core-lro's PollerLike: the PUT goes out on submitted(), each poll() reads the operation.
          const poller = {
            isDone: false,
            operationState: undefined as { status: string; error?: Error } | undefined,
            async submitted() {
              if (a instanceof Error) throw a;
              poller.operationState = { status: 'running' };
            },
            async poll() {
              poller.isDone = true;
              if (a !== 'ok' && !(a instanceof Error)) {
                poller.operationState = { status: 'failed', error: new Error(a.failed) };
                throw poller.operationState.error;
              }
              cluster.oidcIssuerProfile = { enabled: true, issuerURL: ISSUER };
              cluster.securityProfile = { workloadIdentity: { enabled: true } };
              poller.operationState = { status: 'succeeded' };
            },
          };
          return poller;
        },
      },
    },
  };
  return { clients: clients as unknown as ArmClients, puts, ifMatch, gets: () => gets };
}

const REF = { resourceGroup: 'rg-fleet', name: 'aks-prod' };

describe('enableWorkloadIdentity', () => {
  it('never writes when both features are on', async () => {
    const { clients, puts } = aksClients(
      {
        location: 'westeurope',
        oidcIssuerProfile: { enabled: true, issuerURL: ISSUER },
        securityProfile: { workloadIdentity: { enabled: true } },
      },
      [],
    );
    const state = await enableWorkloadIdentity(clients, REF, { log: new MemoryLogger(), timeoutMs: 60_000 });
    assert.equal(puts.length, 0);
    assert.equal(state.issuerUrl, ISSUER);
  });

  it('puts the whole cluster back with both flags on, waiting while it is busy', async () => {
    const time = fakeTime();
    const busy = restError(
      409,
      'OperationNotAllowed',
      'Operation is not allowed: Another operation (Updating) is in progress',
    );
    const { clients, puts } = aksClients(
      { location: 'westeurope', eTag: 'e1', oidcIssuerProfile: { enabled: false }, securityProfile: {} },
      [busy, busy, 'ok'],
    );
    const log = new MemoryLogger();
    const state = await enableWorkloadIdentity(clients, REF, {
      log,
      timeoutMs: 60_000,
      retry: fakeRetry(time, log),
    });
    assert.equal(puts.length, 3);
    assert.deepEqual(puts[2], {
      location: 'westeurope',
      eTag: 'e1',
      oidcIssuerProfile: { enabled: true },
      securityProfile: { workloadIdentity: { enabled: true } },
    });
    assert.deepEqual(time.waits, [500, 1000], 'two busy waits: full jitter (0.5) under a doubling ceiling');
    assert.equal(state.issuerUrl, ISSUER);
    assert.match(
      log.text(),
      /retrying the update of the AKS cluster 'aks-prod' after 409 OperationNotAllowed, waiting 500ms/,
    );
  });

  it('starts from the observed read (If-Match its eTag); changed since (412), it reads again and writes the fresh one', async () => {
    const time = fakeTime();
    const { clients, puts, ifMatch, gets } = aksClients(
      { location: 'westeurope', eTag: 'e2', oidcIssuerProfile: { enabled: false }, securityProfile: {} },
      [restError(412, 'PreconditionFailed', "The specified precondition 'If-Match = e1' failed."), 'ok'],
    );
    const observed = { location: 'westeurope', eTag: 'e1', oidcIssuerProfile: { enabled: false } };
    const log = new MemoryLogger();
    const state = await enableWorkloadIdentity(clients, REF, {
      log,
      timeoutMs: 60_000,
      retry: fakeRetry(time, log),
      observed,
    });
    assert.deepEqual(ifMatch, ['e1', 'e2'], 'the observed eTag first, then the fresh read');
    assert.equal(puts[0]!.eTag, 'e1');
    assert.deepEqual(puts[1], {
      location: 'westeurope',
      eTag: 'e2',
      oidcIssuerProfile: { enabled: true },
      securityProfile: { workloadIdentity: { enabled: true } },
    });
    // One read before the retried PUT and one after the update (the fake poller has no final read).
    assert.equal(gets(), 2);
    assert.equal(state.issuerUrl, ISSUER);
  });

  it('reads the cluster first when the observed read has no eTag to guard the write', async () => {
    const { clients, ifMatch, gets } = aksClients(
      { location: 'westeurope', eTag: 'e2', oidcIssuerProfile: { enabled: false }, securityProfile: {} },
      ['ok'],
    );
    await enableWorkloadIdentity(clients, REF, {
      log: new MemoryLogger(),
      timeoutMs: 60_000,
      retry: fakeRetry(fakeTime()),
      observed: { location: 'westeurope', oidcIssuerProfile: { enabled: false } },
    });
    assert.deepEqual(ifMatch, ['e2']);
    assert.equal(gets(), 2);
  });

  it('stops waiting for a busy cluster at the bound, saying what to do', async () => {
    const time = fakeTime();
    const busy = restError(409, 'OperationNotAllowed');
    const { clients, puts } = aksClients(
      { location: 'westeurope', oidcIssuerProfile: { enabled: false } },
      Array.from({ length: 100 }, () => busy),
    );
    await assert.rejects(
      enableWorkloadIdentity(clients, REF, {
        log: new MemoryLogger(),
        timeoutMs: 60_000,
        retry: fakeRetry(time),
      }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'ClusterUpdateTimeout');
        assert.match(err.fix ?? '', /re-run the task/);
        return true;
      },
    );
    assert.ok(time.now() <= 60_000, `waited ${time.now()} ms`);
    assert.ok(puts.length >= 3 && puts.length < 10, `${puts.length} tries`);
  });

  it('reports a failed long-running operation with its reason', async () => {
    const { clients } = aksClients({ location: 'westeurope', oidcIssuerProfile: { enabled: false } }, [
      { failed: 'The long-running operation has failed. InternalServerError. Upgrade failed' },
    ]);
    await assert.rejects(
      enableWorkloadIdentity(clients, REF, {
        log: new MemoryLogger(),
        timeoutMs: 60_000,
        retry: fakeRetry(fakeTime()),
      }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'ClusterUpdateFailed');
        assert.match(err.cause ?? '', /Upgrade failed/);
        assert.match(err.fix ?? '', /activity log/);
        return true;
      },
    );
  });
});
