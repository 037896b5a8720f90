/**
 * Reconcile and wait, like `flux reconcile kustomization flux-system --with-source`: set the
 * reconcile.fluxcd.io/requestedAt annotation on the GitRepository, wait until the controller
 * handled it and Ready is decided, then the same for the Kustomization (which applies what the
 * source fetched). When that apply changed the GitRepository itself (the usual case right after
 * FluxManifestPatch: provider azure, no secretRef) the controllers' rollouts are awaited and the
 * GitRepository is reconciled once more, so the reported revision was fetched the new way.
 * Then every ImageUpdateAutomation in the namespace. One time budget for all. Each request is a
 * plan step (tasks/common/plan): plan mode shows them and writes nothing; without a request
 * (plan mode, reconcile: false) the current status is read and reported.
 */
import { RetryPolicy } from '../http/retry';
import type { KubeClient } from '../kube/client';
import { FLUX_KINDS, type FluxKind, type FluxObject } from '../kube/model';
import { condition, waitForReady } from '../kube/wait';
import type { Logger } from '../log';
import type { Mode } from '../report/model';
import type { ReportBuilder } from '../report/builder';
import { KNOWN_AFTER_APPLY, runSteps, type Step } from '../plan';
import type { ReconcileFacts } from './model';

export interface ReconcileOptions {
  kube: KubeClient;
  namespace: string;
  gitRepositoryName: string;
  kustomizationName: string;
  /** Controller Deployments whose rollout is awaited after the Kustomization applied. */
  deployments: string[];
  /** The reconcile input: request a reconcile. Plan mode only shows the requests. */
  request: boolean;
  /** plan: observe and show the requests, write nothing (default apply). */
  mode?: Mode;
  /** Records the requests as resources of the run report. */
  report?: ReportBuilder;
  timeoutMs: number;
  log: Logger;
  /** The run's retry policy: its clock paces the waits and bounds them. */
  retry?: RetryPolicy;
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
const ANNOTATION = 'metadata.annotations["reconcile.fluxcd.io/requestedAt"]';

interface Outcome {
  f: ReconcileFacts;
  obj: FluxObject | null;
}

const ok = (f: ReconcileFacts) =>
  f.outcome === 'ready' || (f.outcome === 'not-requested' && f.ready?.status === 'True');

/** What the run learnt so far: the last object each step observed and the result of each request. */
class ReconcileState {
  readonly seen = new Map<string, FluxObject | null>();
  readonly done = new Map<string, Outcome>();
  constructor(readonly o: ReconcileOptions) {}

  /** The GitRepository's latest result (the second reconcile's when there was one). */
  git(): Outcome | undefined {
    return this.done.get(AGAIN) ?? this.done.get(GIT);
  }

  /** May the steps after the GitRepository request a reconcile? Undecided (true) until the source ran. */
  sourceReady(): boolean {
    const g = this.git();
    if (g) return ok(g.f);
    return this.seen.get(GIT) != null;
  }
}

const GIT = 'reconcile:GitRepository';
const KS = 'reconcile:Kustomization';
const AGAIN = 'reconcile-again:GitRepository';

/** Requests a reconcile (the annotation) and waits until the controller handled it and Ready is decided. */
async function requestAndWait(
  st: ReconcileState,
  k: FluxKind,
  kind: ReconcileFacts['kind'],
  name: string,
  clock: Clock,
): Promise<Outcome> {
  const o = st.o;
  const at = (o.stamp ?? (() => new Date().toISOString()))();
  o.log.info(`Requesting a reconcile of ${kind} ${o.namespace}/${name} (reconcile.fluxcd.io/requestedAt=${at}).`);
  await o.kube.requestReconcile(k, o.namespace, name, at);
  const r = await waitForReady({
    read: () => o.kube.getFluxObject(k, o.namespace, name),
    requestedAt: at,
    label: `${kind} ${o.namespace}/${name}`,
    timeoutMs: clock.left(),
    progress: (m, p) => o.log.progress(m, p),
    retry: clock.retry,
  });
  return {
    f: facts(kind, name, r.object, r.outcome === 'missing' ? 'missing' : r.outcome, true, r.waitedMs),
    obj: r.object,
  };
}

/** The run's retry policy (its clock paces every wait) and what is left of the one time budget. */
interface Clock {
  retry: RetryPolicy;
  left: () => number;
}

/** One object's reconcile request as a plan step: update the annotation, or skip with the reason. */
function reconcileStep(
  st: ReconcileState,
  id: string,
  k: FluxKind,
  kind: ReconcileFacts['kind'],
  name: string,
  clock: Clock,
  dependsOn: string[],
): Step<FluxObject | null> {
  const o = st.o;
  return {
    id,
    kind,
    name: `${o.namespace}/${name}`,
    dependsOn,
    observe: async () => {
      const obj = await o.kube.getFluxObject(k, o.namespace, name);
      st.seen.set(id, obj);
      return obj;
    },
    plan: (obj) => {
      if (!obj) return { action: 'skip', changes: [], note: 'not found' };
      if (!o.request) return { action: 'skip', changes: [], note: 'reconcile: false' };
      if (id !== GIT && !st.sourceReady()) return { action: 'skip', changes: [], note: NOT_RECONCILED };
      const from = obj.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
      return {
        action: 'update',
        changes: [{ field: ANNOTATION, from, to: KNOWN_AFTER_APPLY }],
        note: 'request a reconcile and wait for Ready',
      };
    },
    apply: async () => {
      st.done.set(id, await requestAndWait(st, k, kind, name, clock));
    },
  };
}

/**
 * The GitRepository again, when the Kustomization's apply changed its spec (generation): observed
 * only after the Kustomization became Ready (and the controllers rolled out), skipped otherwise.
 */
function reconcileAgainStep(st: ReconcileState, clock: Clock): Step<FluxObject | null> {
  const o = st.o;
  const name = o.gitRepositoryName;
  return {
    id: AGAIN,
    kind: 'GitRepository',
    name: `${o.namespace}/${name}`,
    dependsOn: [KS],
    observe: async () => {
      if (st.done.get(KS)?.f.outcome !== 'ready') return null;
      // The apply may have changed the controllers (pod-template label) and the GitRepository itself.
      await waitForRollouts(o, clock.retry, clock.left);
      return o.kube.getFluxObject(FLUX_KINDS.GitRepository, o.namespace, name);
    },
    plan: (after) => {
      const before = st.done.get(GIT)?.obj;
      if (!after || after.metadata.generation === before?.metadata.generation)
        return { action: 'skip', changes: [], note: 'again only when the Kustomization changes its spec' };
      return {
        action: 'update',
        changes: [{ field: 'metadata.generation', from: before?.metadata.generation, to: after.metadata.generation }],
        note: 'the Kustomization changed its spec: reconcile it again',
      };
    },
    apply: async (after) => {
      const first = st.done.get(GIT)!;
      o.log.info(
        `The Kustomization changed GitRepository ${o.namespace}/${name} (generation ${first.obj?.metadata.generation ?? '?'} -> ${after?.metadata.generation}); reconciling it again with its new spec.`,
      );
      const again = await requestAndWait(st, FLUX_KINDS.GitRepository, 'GitRepository', name, clock);
      again.f.waitedSeconds = (again.f.waitedSeconds ?? 0) + (first.f.waitedSeconds ?? 0);
      again.f.note =
        'reconciled twice: the Kustomization applied a changed GitRepository spec, the second fetch used it';
      st.done.set(AGAIN, again);
    },
  };
}

/** The facts of one step after the run: the request's result, or the status it observed. */
function factsOf(st: ReconcileState, id: string, kind: ReconcileFacts['kind'], name: string): ReconcileFacts {
  const done = id === GIT ? st.git() : st.done.get(id);
  if (done) return done.f;
  const obj = st.seen.get(id) ?? null;
  if (!obj) return facts(kind, name, null, 'missing', false);
  const f = facts(kind, name, obj, 'not-requested', false);
  if (st.o.request && id !== GIT && !st.sourceReady()) f.note = NOT_RECONCILED;
  return f;
}

export async function reconcileAndWait(o: ReconcileOptions): Promise<ReconcileFacts[]> {
  const retry = o.retry ?? new RetryPolicy({ log: o.log });
  const { now } = retry.clock;
  const deadline = now() + o.timeoutMs;
  const clock: Clock = { retry, left: () => Math.max(0, deadline - now()) };
  const st = new ReconcileState(o);
  const iuas = (await o.kube.listFluxObjects(FLUX_KINDS.ImageUpdateAutomation, o.namespace)).map(
    (i) => i.metadata.name,
  );
  const targets: [string, FluxKind, ReconcileFacts['kind'], string][] = [
    [GIT, FLUX_KINDS.GitRepository, 'GitRepository', o.gitRepositoryName],
    [KS, FLUX_KINDS.Kustomization, 'Kustomization', o.kustomizationName],
    ...iuas.map((n): [string, FluxKind, ReconcileFacts['kind'], string] => [
      `reconcile:ImageUpdateAutomation:${n}`,
      FLUX_KINDS.ImageUpdateAutomation,
      'ImageUpdateAutomation',
      n,
    ]),
  ];
  const steps: Step<FluxObject | null>[] = targets.map(([id, k, kind, name], i) =>
    reconcileStep(st, id, k, kind, name, clock, i === 0 ? [] : i === 1 ? [GIT] : [GIT, AGAIN]),
  );
  steps.splice(2, 0, reconcileAgainStep(st, clock));
  await runSteps(steps as Step<unknown>[], {
    mode: o.mode ?? 'apply',
    log: o.log,
    ...(o.report ? { report: o.report } : {}),
  });
  return targets.map(([id, , kind, name]) => factsOf(st, id, kind, name));
}

/** Waits (within the budget) until each controller Deployment has rolled out its current template. */
async function waitForRollouts(o: ReconcileOptions, retry: RetryPolicy, left: () => number): Promise<void> {
  let pending: string[] = [];
  const done = await retry.poll(
    async () => {
      pending = [];
      for (const name of o.deployments) {
        const d = await o.kube.getDeployment(o.namespace, name);
        if (!d) continue;
        const want = d.spec?.replicas ?? 1;
        const st = d.status ?? {};
        const rolledOut =
          (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
          (st.updatedReplicas ?? 0) >= want &&
          (st.availableReplicas ?? 0) >= want &&
          (st.replicas ?? want) <= want;
        if (!rolledOut) pending.push(name);
      }
      return pending.length === 0 ? true : undefined;
    },
    {
      intervalMs: 500,
      maxIntervalMs: 5000,
      factor: 1.5,
      timeoutMs: left(),
      onWait: () => o.log.progress(`Waiting for the rollout of ${pending.join(', ')}`),
    },
  );
  if (!done) o.log.warn(`Rollout of ${pending.join(', ')} not finished within the timeout.`);
}
