/**
 * Reconcile and wait, like `flux reconcile kustomization flux-system --with-source`: set the
 * reconcile.fluxcd.io/requestedAt annotation on the GitRepository, wait until the controller
 * handled it and Ready is decided, then the same for the Kustomization (which applies what the
 * source fetched). When that apply changed the GitRepository itself (the usual case right after
 * FluxManifestPatch: provider azure, no secretRef) the controllers' rollouts are awaited and the
 * GitRepository is reconciled once more, so the reported revision was fetched the new way.
 * Then every ImageUpdateAutomation in the namespace. One time budget for all. Without a request
 * (plan mode, reconcile: false) the current status is read and reported.
 */
import type { KubeClient } from '../kube/client';
import { FLUX_KINDS, type FluxKind, type FluxObject } from '../kube/model';
import { condition, waitForReady } from '../kube/wait';
import type { Logger } from '../log';
import type { ReconcileFacts } from './model';

export interface ReconcileOptions {
  kube: KubeClient;
  namespace: string;
  gitRepositoryName: string;
  kustomizationName: string;
  /** Controller Deployments whose rollout is awaited after the Kustomization applied. */
  deployments: string[];
  /** Request a reconcile (apply mode and reconcile: true). */
  request: boolean;
  timeoutMs: number;
  log: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** The requestedAt value (default: now, RFC 3339 as flux uses). */
  stamp?: () => string;
}

function revisionOf(kind: ReconcileFacts['kind'], o: FluxObject | null): string | undefined {
  if (!o?.status) return undefined;
  if (kind === 'GitRepository') return o.status.artifact?.revision;
  if (kind === 'Kustomization') return o.status.lastAppliedRevision;
  return o.status.observedSourceRevision ?? o.status.lastPushCommit;
}

function facts(
  kind: ReconcileFacts['kind'],
  name: string,
  o: FluxObject | null,
  outcome: ReconcileFacts['outcome'],
  requested: boolean,
  waitedMs?: number,
): ReconcileFacts {
  const ready = condition(o, 'Ready');
  const revision = revisionOf(kind, o);
  return {
    kind,
    name,
    found: !!o,
    requested,
    outcome,
    ...(ready
      ? {
          ready: {
            type: ready.type,
            status: ready.status,
            ...(ready.reason ? { reason: ready.reason } : {}),
            ...(ready.message ? { message: ready.message } : {}),
          },
        }
      : {}),
    ...(revision ? { revision } : {}),
    ...(o?.status?.lastPushCommit ? { lastPushCommit: o.status.lastPushCommit } : {}),
    ...(o?.status?.lastPushTime ? { lastPushTime: o.status.lastPushTime } : {}),
    ...(waitedMs !== undefined ? { waitedSeconds: Math.round(waitedMs / 1000) } : {}),
  };
}

const NOT_RECONCILED = 'not reconciled: the GitRepository did not become Ready; current status';

export async function reconcileAndWait(o: ReconcileOptions): Promise<ReconcileFacts[]> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + o.timeoutMs;
  const stamp = o.stamp ?? (() => new Date().toISOString());
  const left = () => Math.max(0, deadline - now());

  const one = async (
    k: FluxKind,
    kind: ReconcileFacts['kind'],
    name: string,
    request: boolean,
    existing?: FluxObject,
  ): Promise<{ f: ReconcileFacts; obj: FluxObject | null }> => {
    const obj = existing ?? (await o.kube.getFluxObject(k, o.namespace, name));
    if (!obj) return { f: facts(kind, name, null, 'missing', false), obj: null };
    if (!request) return { f: facts(kind, name, obj, 'not-requested', false), obj };
    const at = stamp();
    o.log.info(`Requesting a reconcile of ${kind} ${o.namespace}/${name} (reconcile.fluxcd.io/requestedAt=${at}).`);
    await o.kube.requestReconcile(k, o.namespace, name, at);
    const r = await waitForReady({
      read: () => o.kube.getFluxObject(k, o.namespace, name),
      requestedAt: at,
      label: `${kind} ${o.namespace}/${name}`,
      timeoutMs: left(),
      progress: (m, p) => o.log.progress(m, p),
      now,
      sleep,
    });
    return {
      f: facts(kind, name, r.object, r.outcome === 'missing' ? 'missing' : r.outcome, true, r.waitedMs),
      obj: r.object,
    };
  };

  const ok = (f: ReconcileFacts) =>
    f.outcome === 'ready' || (f.outcome === 'not-requested' && f.ready?.status === 'True');
  let git = await one(FLUX_KINDS.GitRepository, 'GitRepository', o.gitRepositoryName, o.request);
  const ks = await one(FLUX_KINDS.Kustomization, 'Kustomization', o.kustomizationName, o.request && ok(git.f));
  if (o.request && !ok(git.f) && ks.obj) ks.f.note = NOT_RECONCILED;

  if (o.request && ok(git.f) && ks.f.outcome === 'ready') {
    // The apply may have changed the controllers (pod-template label) and the GitRepository itself.
    await waitForRollouts(o, sleep, left);
    const after = await o.kube.getFluxObject(FLUX_KINDS.GitRepository, o.namespace, o.gitRepositoryName);
    if (after && after.metadata.generation !== git.obj?.metadata.generation) {
      o.log.info(
        `The Kustomization changed GitRepository ${o.namespace}/${o.gitRepositoryName} (generation ${git.obj?.metadata.generation ?? '?'} -> ${after.metadata.generation}); reconciling it again with its new spec.`,
      );
      const waited = git.f.waitedSeconds ?? 0;
      git = await one(FLUX_KINDS.GitRepository, 'GitRepository', o.gitRepositoryName, true);
      git.f.waitedSeconds = (git.f.waitedSeconds ?? 0) + waited;
      git.f.note = 'reconciled twice: the Kustomization applied a changed GitRepository spec, the second fetch used it';
    }
  }
  const out = [git.f, ks.f];
  for (const iua of await o.kube.listFluxObjects(FLUX_KINDS.ImageUpdateAutomation, o.namespace)) {
    const go = o.request && ok(git.f);
    const r = await one(
      FLUX_KINDS.ImageUpdateAutomation,
      'ImageUpdateAutomation',
      iua.metadata.name,
      go,
      go ? undefined : iua,
    );
    if (o.request && !go) r.f.note = NOT_RECONCILED;
    out.push(r.f);
  }
  return out;
}

/** Waits (within the budget) until each controller Deployment has rolled out its current template. */
async function waitForRollouts(
  o: ReconcileOptions,
  sleep: (ms: number) => Promise<void>,
  left: () => number,
): Promise<void> {
  let interval = 500;
  for (;;) {
    const pending: string[] = [];
    for (const name of o.deployments) {
      const d = await o.kube.getDeployment(o.namespace, name);
      if (!d) continue;
      const want = d.spec?.replicas ?? 1;
      const st = d.status ?? {};
      const done =
        (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
        (st.updatedReplicas ?? 0) >= want &&
        (st.availableReplicas ?? 0) >= want &&
        (st.replicas ?? want) <= want;
      if (!done) pending.push(name);
    }
    if (pending.length === 0) return;
    if (left() <= 0) {
      o.log.warn(`Rollout of ${pending.join(', ')} not finished within the timeout.`);
      return;
    }
    o.log.progress(`Waiting for the rollout of ${pending.join(', ')}`);
    await sleep(Math.min(interval, left()));
    interval = Math.min(5000, Math.round(interval * 1.5));
  }
}
