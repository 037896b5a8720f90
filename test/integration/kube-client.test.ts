/**
 * KubeClient against a loopback API server (a real HTTP round trip through @kubernetes/client-node):
 * 404 is null, a Flux kind falls back to v1beta2, reconcile is a merge patch, TokenRequest audience.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { MemoryLogger } from '../../tasks/common/log';
import { FLUX_KINDS, KubeClient } from '../../tasks/common/kube/client';
import { buildKubeConfig } from '../../tasks/common/kube/connection';

/** A tiny API server: records requests, answers from a route table (Status 404 otherwise). */
async function fakeApi(routes: Record<string, (body: string) => [number, unknown]>) {
  const seen: { method: string; url: string; contentType?: string; body: string; auth?: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        contentType: req.headers['content-type'],
        body,
        auth: req.headers.authorization,
      });
      const key = `${req.method} ${req.url!.split('?')[0]}`;
      const [status, payload] = routes[key]?.(body) ?? [
        404,
        {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          message: `${key} not found`,
          code: 404,
        },
      ];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = stringify({
    apiVersion: 'v1',
    'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    users: [{ name: 'u', user: { token: 'kube-token' } }],
  });
  return { seen, kubeconfig, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('KubeClient: 404 is null, a Flux kind falls back to v1beta2 and remembers it, reconcile is a merge patch, TokenRequest asks for the audience', async () => {
  const gitV1beta2 = {
    apiVersion: 'source.toolkit.fluxcd.io/v1beta2',
    kind: 'GitRepository',
    metadata: { name: 'flux-system', namespace: 'flux-system' },
    spec: { url: 'ssh://x' },
  };
  const api = await fakeApi({
    'GET /apis/source.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/gitrepositories/flux-system': () => [
      200,
      gitV1beta2,
    ],
    'PATCH /apis/source.toolkit.fluxcd.io/v1beta2/namespaces/flux-system/gitrepositories/flux-system': () => [
      200,
      gitV1beta2,
    ],
    'POST /api/v1/namespaces/flux-system/serviceaccounts/source-controller/token': (b) => [
      201,
      { ...JSON.parse(b), status: { token: 'sa.jwt.token', expirationTimestamp: '2030-01-01T00:00:00Z' } },
    ],
    'GET /api/v1/namespaces/flux-system/pods': () => [
      200,
      { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'p1' } }] },
    ],
  });
  try {
    const log = new MemoryLogger();
    const built = await buildKubeConfig({ kind: 'kubeconfig', kubeconfig: api.kubeconfig, origin: 'test' }, { log });
    const kube = new KubeClient(built.kc);
    assert.equal(await kube.getServiceAccount('flux-system', 'nope'), null);
    const g = await kube.getFluxObject(FLUX_KINDS.GitRepository, 'flux-system', 'flux-system');
    assert.equal(g?.apiVersion, 'source.toolkit.fluxcd.io/v1beta2');
    await kube.requestReconcile(FLUX_KINDS.GitRepository, 'flux-system', 'flux-system', '2030-01-01T00:00:00.000Z');
    const patch = api.seen.find((r) => r.method === 'PATCH')!;
    assert.match(patch.url, /\/v1beta2\//, 'the served version is patched');
    assert.equal(patch.contentType, 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(patch.body), {
      metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': '2030-01-01T00:00:00.000Z' } },
    });
    const tr = await kube.requestToken('flux-system', 'source-controller', 'api://AzureADTokenExchange', 600);
    assert.equal(tr.token, 'sa.jwt.token');
    const post = JSON.parse(api.seen.find((r) => r.method === 'POST')!.body) as {
      spec: { audiences: string[]; expirationSeconds: number };
    };
    assert.deepEqual(post.spec, { audiences: ['api://AzureADTokenExchange'], expirationSeconds: 600 });
    const pods = await kube.listPods('flux-system', 'app=source-controller');
    assert.equal(pods[0].metadata?.name, 'p1');
    assert.match(
      api.seen.find((r) => r.url.startsWith('/api/v1/namespaces/flux-system/pods'))!.url,
      /labelSelector=app%3Dsource-controller/,
    );
    assert.ok(api.seen.every((r) => r.auth === 'Bearer kube-token'));
    assert.deepEqual(
      await kube.listFluxObjects(FLUX_KINDS.ImageUpdateAutomation, 'flux-system'),
      [],
      'a kind that is not installed lists as empty',
    );
    await assert.rejects(
      kube.deleteSecret('flux-system', 'x').then(() => kube.requestToken('flux-system', 'missing', 'a')),
      (e: Error & { statusCode?: number }) => e.statusCode === 404 && /NotFound/.test(e.message),
    );
  } finally {
    await api.close();
  }
});
