/**
 * tasks/common/kube: kubeconfig sources (service connections, AKS user kubeconfigs with kubelogin),
 * and the reconcile wait on a fake clock. The client against a loopback API server is in
 * test/integration/kube-client.test.ts.
 */
import { RetryPolicy } from '../../tasks/common/http/retry';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { stringify } from 'yaml';
import { MemoryLogger } from '../../tasks/common/log';
import {
  AKS_SERVER_ID,
  buildKubeConfig,
  kubeSourceFromEndpoint,
  type KubeEndpoint,
} from '../../tasks/common/kube/connection';
import type { FluxObject } from '../../tasks/common/kube/client';
import { readyState, waitForReady } from '../../tasks/common/kube/wait';

function endpoint(
  scheme: string,
  auth: Record<string, string>,
  data: Record<string, string> = {},
  url?: string,
): KubeEndpoint {
  const get = (bag: Record<string, string>) => (k: string) =>
    Object.entries(bag).find(([key]) => key.toLowerCase() === k.toLowerCase())?.[1];
  return { id: 'k8s', scheme, url, auth: get(auth), data: get(data) };
}

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function aksUserKubeconfig(args: string[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'aks-prod',
    clusters: [
      {
        name: 'aks-prod',
        cluster: {
          server: 'https://aks-prod.hcp.example:443',
          'certificate-authority-data': Buffer.from(CA_PEM).toString('base64'),
        },
      },
    ],
    contexts: [{ name: 'aks-prod', context: { cluster: 'aks-prod', user: 'clusterUser_rg-fleet_aks-prod' } }],
    users: [
      {
        name: 'clusterUser_rg-fleet_aks-prod',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'kubelogin',
            args,
            env: null,
            provideClusterInfo: false,
          },
        },
      },
    ],
  });
}

class FakeCredential implements TokenCredential {
  scopes: string[] = [];
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: 'entra-token-for-aks', expiresOnTimestamp: Date.now() + 3600_000 };
  }
}

test('a Kubeconfig service connection hands over its kubeconfig and context', () => {
  const s = kubeSourceFromEndpoint(
    endpoint(
      'Kubeconfig',
      { kubeconfig: 'apiVersion: v1', clusterContext: 'prod' },
      { authorizationType: 'Kubeconfig' },
    ),
  );
  assert.deepEqual(s, {
    kind: 'kubeconfig',
    kubeconfig: 'apiVersion: v1',
    context: 'prod',
    origin: 'Kubernetes service connection k8s',
  });
});

test('a ServiceAccount service connection: base64 token decoded, CA kept as certificate-authority-data, PEM accepted too', async () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig';
  const s = kubeSourceFromEndpoint(
    endpoint(
      'Token',
      {
        apiToken: Buffer.from(jwt).toString('base64'),
        serviceAccountCertificate: Buffer.from(CA_PEM).toString('base64'),
      },
      { authorizationType: 'ServiceAccount' },
      'https://k8s.example:6443',
    ),
  );
  assert.equal(s.kind, 'token');
  assert.equal(s.kind === 'token' && s.token, jwt);
  assert.equal(s.kind === 'token' && s.caData, Buffer.from(CA_PEM).toString('base64'));
  const pem = kubeSourceFromEndpoint(
    endpoint('ServiceAccount', { apitoken: jwt, serviceAccountCertificate: CA_PEM }, {}, 'https://k8s.example:6443'),
  );
  assert.equal(pem.kind === 'token' && pem.caData, Buffer.from(CA_PEM).toString('base64'));

  const log = new MemoryLogger();
  const built = await buildKubeConfig(s, { log });
  assert.equal(built.server, 'https://k8s.example:6443');
  assert.equal(built.kc.getCurrentUser()?.token, jwt);
  assert.ok(log.secrets.has(jwt), 'the token is registered as a secret');
});

test('an Azure Subscription Kubernetes connection is refused with what to use instead', () => {
  assert.throws(
    () => kubeSourceFromEndpoint(endpoint('Kubernetes', {}, { authorizationType: 'AzureSubscription' })),
    (e: Error & { fix?: string }) =>
      /Azure Subscription authentication/.test(e.message) &&
      /leave kubernetesServiceConnection empty/.test(e.fix ?? ''),
  );
});

test('an AKS user kubeconfig with kubelogin becomes a bearer token for the --server-id, no kubelogin run', async () => {
  const cred = new FakeCredential();
  const log = new MemoryLogger();
  const kubeconfig = aksUserKubeconfig([
    'get-token',
    '--environment',
    'AzurePublicCloud',
    '--server-id',
    'aaaaaaaa-0000-0000-0000-000000000001',
    '--client-id',
    '80faf920-1908-4b52-b5ef-a8e7bedfc67a',
    '--tenant-id',
    't',
    '--login',
    'devicecode',
  ]);
  const built = await buildKubeConfig(
    { kind: 'kubeconfig', kubeconfig, origin: 'AKS user credentials' },
    { log, credential: cred },
  );
  assert.deepEqual(cred.scopes, ['aaaaaaaa-0000-0000-0000-000000000001/.default']);
  const user = built.kc.getCurrentUser();
  assert.equal(user?.token, 'entra-token-for-aks');
  assert.equal(user?.exec, undefined);
  assert.match(built.auth, /no kubelogin needed/);
  assert.ok(log.secrets.has('entra-token-for-aks'));
  assert.ok(
    [...log.secrets].every((s) => !s.includes('\n')),
    'no multi-line secret (the agent refuses them)',
  );

  const cred2 = new FakeCredential();
  await buildKubeConfig(
    { kind: 'kubeconfig', kubeconfig: aksUserKubeconfig(['get-token', '--login', 'azurecli']), origin: 'x' },
    { log, credential: cred2 },
  );
  assert.deepEqual(cred2.scopes, [`${AKS_SERVER_ID}/.default`], 'the AKS server app is the default');
});

test('a kubeconfig with another exec plugin, or kubelogin without a credential, fails with the fix', async () => {
  const other = aksUserKubeconfig(['x']).replace('command: kubelogin', 'command: gke-gcloud-auth-plugin');
  await assert.rejects(
    buildKubeConfig({ kind: 'kubeconfig', kubeconfig: other, origin: 'x' }, { log: new MemoryLogger() }),
    (e: Error & { fix?: string }) =>
      /exec plugin 'gke-gcloud-auth-plugin'/.test(e.message) && /service-account token/.test(e.fix ?? ''),
  );
  await assert.rejects(
    buildKubeConfig(
      { kind: 'kubeconfig', kubeconfig: aksUserKubeconfig([]), origin: 'x' },
      { log: new MemoryLogger() },
    ),
    /needs an Azure credential/,
  );
});

function git(status: Record<string, unknown>, generation = 1): FluxObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'flux-system', generation },
    status,
  };
}

test('readyState follows flux reconcile: handled request, observed generation, Ready/Stalled/Reconciling', () => {
  const ready = { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored artifact' };
  assert.equal(
    readyState(git({ lastHandledReconcileAt: 'a', observedGeneration: 1, conditions: [ready] }), 'b'),
    'progressing',
  );
  assert.equal(
    readyState(git({ lastHandledReconcileAt: 'b', observedGeneration: 1, conditions: [ready] }), 'b'),
    'ready',
  );
  assert.equal(readyState(git({ observedGeneration: 1, conditions: [ready] }, 2)), 'progressing');
  assert.equal(
    readyState(
      git({
        conditions: [
          { type: 'Ready', status: 'False' },
          { type: 'Reconciling', status: 'True' },
        ],
      }),
    ),
    'progressing',
  );
  assert.equal(readyState(git({ conditions: [{ type: 'Ready', status: 'False', message: 'x' }] })), 'failed');
  assert.equal(
    readyState(
      git({
        conditions: [
          { type: 'Ready', status: 'False', message: 'x' },
          { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry' },
        ],
      }),
    ),
    'failed',
    'a failed attempt that will be retried',
  );
  assert.equal(
    readyState(
      git({
        conditions: [
          { type: 'Ready', status: 'Unknown' },
          { type: 'Stalled', status: 'True' },
        ],
      }),
    ),
    'failed',
  );
});

test('waitForReady polls on the given clock, reports progress, and stops at the deadline', async () => {
  let now = 0;
  const sleep = async (ms: number) => {
    now += ms;
  };
  const states = [
    git({}),
    git({ lastHandledReconcileAt: 'r', conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Progressing' }] }),
    git({ lastHandledReconcileAt: 'r', conditions: [{ type: 'Ready', status: 'True' }] }),
  ];
  const progress: string[] = [];
  const r = await waitForReady({
    read: async () => states.shift() ?? null,
    requestedAt: 'r',
    timeoutMs: 60_000,
    label: 'GitRepository x',
    retry: new RetryPolicy({ sleep, now: () => now }),
    progress: (m) => progress.push(m),
  });
  assert.equal(r.outcome, 'ready');
  assert.ok(
    progress.some((m) => /not handled yet/.test(m)) && progress.some((m) => /Ready=Unknown Progressing/.test(m)),
  );

  now = 0;
  const stuck = await waitForReady({
    read: async () => git({}),
    requestedAt: 'r',
    timeoutMs: 10_000,
    label: 'x',
    retry: new RetryPolicy({ sleep, now: () => now }),
  });
  assert.equal(stuck.outcome, 'timeout');
  assert.ok(now >= 10_000 && now < 20_000, `stopped near the deadline (${now})`);
  assert.equal(
    (
      await waitForReady({
        read: async () => null,
        timeoutMs: 1000,
        label: 'x',
        retry: new RetryPolicy({ sleep, now: () => now }),
      })
    ).outcome,
    'missing',
  );
});
