/**
 * The reconcile sequence of FluxOidcVerify against a scripted cluster: source, then Kustomization,
 * then the source again when the apply changed its spec (right after FluxManifestPatch), then
 * ImageUpdateAutomations; on a fake clock.
 */
import { RetryPolicy } from '../../tasks/common/http/retry';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../../tasks/common/log';
import type { FluxKind, FluxObject, KubeClient } from '../../tasks/common/kube/client';
import { reconcileAndWait } from '../../tasks/common/verify/reconcile';

type Cond = { type: string; status: string; reason?: string; message?: string };

/** A cluster whose controllers answer a reconcile request with the next scripted outcome. */
class ScriptedCluster {
  readonly objects = new Map<string, FluxObject>();
  readonly requests: string[] = [];
  /** kind -> outcomes applied on each request, in order. */
  readonly script = new Map<string, ((o: FluxObject) => void)[]>();

  add(kind: string, name: string, generation = 1, conditions: Cond[] = [], status: Record<string, unknown> = {}): void {
    this.objects.set(`${kind}/${name}`, {
      apiVersion: 'x/v1',
      kind,
      metadata: { name, generation },
      status: { observedGeneration: generation, conditions, ...status },
    });
  }

  client(): KubeClient {
    const fake = {
      getFluxObject: async (k: FluxKind, _ns: string, name: string) =>
        structuredClone(this.objects.get(`${k.kind}/${name}`) ?? null),
      listFluxObjects: async (k: FluxKind) =>
        [...this.objects.values()].filter((o) => o.kind === k.kind).map((o) => structuredClone(o)),
      getDeployment: async () => ({
        metadata: { generation: 1 },
        spec: { replicas: 1 },
        status: { observedGeneration: 1, updatedReplicas: 1, availableReplicas: 1, replicas: 1 },
      }),
      requestReconcile: async (k: FluxKind, _ns: string, name: string, at: string) => {
        this.requests.push(`${k.kind}/${name}`);
        const o = this.objects.get(`${k.kind}/${name}`)!;
        o.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': at };
        const step = this.script.get(k.kind)?.shift();
        step?.(o);
        o.status!.lastHandledReconcileAt = at;
      },
    };
    return fake as unknown as KubeClient;
  }
}

const ready = (message: string): Cond[] => [{ type: 'Ready', status: 'True', reason: 'Succeeded', message }];

function run(c: ScriptedCluster, request = true) {
  let now = 0;
  return reconcileAndWait({
    kube: c.client(),
    namespace: 'flux-system',
    gitRepositoryName: 'flux-system',
    kustomizationName: 'flux-system',
    deployments: ['source-controller'],
    request,
    timeoutMs: 60_000,
    log: new MemoryLogger(),
    retry: new RetryPolicy({
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    }),
  });
}

test('after the Kustomization changed the GitRepository spec, the source is reconciled again and that revision is reported', async () => {
  const c = new ScriptedCluster();
  c.add('GitRepository', 'flux-system');
  c.add('Kustomization', 'flux-system');
  c.script.set('GitRepository', [
    (o) => {
      o.status!.conditions = ready("stored artifact for revision 'main@sha1:aaa'");
      o.status!.artifact = { revision: 'main@sha1:aaa' };
    },
    (o) => {
      o.status!.conditions = ready("stored artifact for revision 'main@sha1:bbb'");
      o.status!.artifact = { revision: 'main@sha1:bbb' };
    },
  ]);
  c.script.set('Kustomization', [
    (o) => {
      o.status!.conditions = [
        {
          type: 'Ready',
          status: 'True',
          reason: 'ReconciliationSucceeded',
          message: 'Applied revision: main@sha1:bbb',
        },
      ];
      o.status!.lastAppliedRevision = 'main@sha1:bbb';
      // The apply set provider: azure on the GitRepository: a new generation.
      const g = c.objects.get('GitRepository/flux-system')!;
      g.metadata.generation = 2;
      g.status!.observedGeneration = 2;
    },
  ]);
  const [git, ks] = await run(c);
  assert.deepEqual(c.requests, ['GitRepository/flux-system', 'Kustomization/flux-system', 'GitRepository/flux-system']);
  assert.equal(git.outcome, 'ready');
  assert.equal(git.revision, 'main@sha1:bbb');
  assert.match(git.note ?? '', /reconciled twice/);
  assert.equal(ks.revision, 'main@sha1:bbb');
});

test('a failed source is reported at once, and the Kustomization is not asked to apply anything', async () => {
  const c = new ScriptedCluster();
  c.add('GitRepository', 'flux-system');
  c.add('Kustomization', 'flux-system', 1, ready('Applied revision: main@sha1:old'), {
    lastAppliedRevision: 'main@sha1:old',
  });
  c.add('ImageUpdateAutomation', 'apps', 1, ready('repository up-to-date'));
  c.script.set('GitRepository', [
    (o) => {
      o.status!.conditions = [
        {
          type: 'Ready',
          status: 'False',
          reason: 'AuthenticationFailed',
          message: 'AADSTS70021: No matching federated identity record found',
        },
        { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: 'retrying' },
      ];
    },
  ]);
  const [git, ks, iua] = await run(c);
  assert.deepEqual(c.requests, ['GitRepository/flux-system']);
  assert.equal(git.outcome, 'failed');
  assert.match(git.ready?.message ?? '', /AADSTS70021/);
  assert.equal(ks.outcome, 'not-requested');
  assert.match(ks.note ?? '', /GitRepository did not become Ready/);
  assert.equal(iua.kind, 'ImageUpdateAutomation');
  assert.equal(iua.outcome, 'not-requested');
});

test('without a request (plan mode) only the current status is read', async () => {
  const c = new ScriptedCluster();
  c.add('GitRepository', 'flux-system', 1, ready('stored'), { artifact: { revision: 'main@sha1:ccc' } });
  const [git, ks] = await run(c, false);
  assert.deepEqual(c.requests, []);
  assert.equal(git.outcome, 'not-requested');
  assert.equal(git.revision, 'main@sha1:ccc');
  assert.equal(ks.outcome, 'missing');
});

test('plan mode with reconcile on shows the requests and makes none', async () => {
  const c = new ScriptedCluster();
  c.add('GitRepository', 'flux-system', 1, ready('stored'));
  c.add('Kustomization', 'flux-system', 1, ready('Applied revision: main@sha1:ccc'));
  const log = new MemoryLogger();
  const [git, ks] = await reconcileAndWait({
    kube: c.client(),
    namespace: 'flux-system',
    gitRepositoryName: 'flux-system',
    kustomizationName: 'flux-system',
    deployments: [],
    request: true,
    mode: 'plan',
    timeoutMs: 60_000,
    log,
    retry: new RetryPolicy({ now: () => 0, sleep: async () => {} }),
  });
  assert.deepEqual(c.requests, []);
  assert.equal(git.outcome, 'not-requested');
  assert.equal(ks.outcome, 'not-requested');
  const text = log.lines.map((l) => l.message).join('\n');
  assert.match(text, /~ update GitRepository flux-system\/flux-system/);
  assert.match(text, /~ update Kustomization flux-system\/flux-system/);
});
