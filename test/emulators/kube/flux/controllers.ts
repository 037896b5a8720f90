/**
 * The Flux controllers of one cluster, simulated at the level a user observes. Deterministic:
 * reconciles run one at a time from a queue, triggered by what triggers the real controllers —
 * a new generation (spec change), the `reconcile.fluxcd.io/requestedAt` annotation (`flux
 * reconcile`), a controller (re)start (its pod created: it reconciles everything it owns), a new
 * source revision (Kustomizations follow), and `spec.interval` on the emulated clock
 * (`ctx.clock.advance`) — never real time.
 *
 * A controller only works while its Deployment has a running pod; its version (and so its
 * behaviour and messages) comes from that pod's image tag.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KubeCluster } from '../cluster';
import type { KubeObject } from '../model';
import type { ResourceDef } from '../resources';
import type { Change } from '../store';
import type { ControllerInfo } from './auth';
import { reconcileImagePolicy, reconcileImageRepository, reconcileImageUpdateAutomation } from './image';
import type { Controller } from './install';
import { CONTROLLERS, fluxMinorForController, parseVersion } from './install';
import { reconcileKustomization } from './kustomize';
import { GitCache } from './git';
import { reconcileGitRepository } from './source';

type FluxKind = 'GitRepository' | 'Kustomization' | 'ImageRepository' | 'ImagePolicy' | 'ImageUpdateAutomation';

const KINDS: Record<FluxKind, { group: string; controller: Controller }> = {
  GitRepository: { group: 'source.toolkit.fluxcd.io', controller: 'source-controller' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', controller: 'kustomize-controller' },
  ImageRepository: { group: 'image.toolkit.fluxcd.io', controller: 'image-reflector-controller' },
  ImagePolicy: { group: 'image.toolkit.fluxcd.io', controller: 'image-reflector-controller' },
  ImageUpdateAutomation: { group: 'image.toolkit.fluxcd.io', controller: 'image-automation-controller' },
};

function fluxKindOf(def: ResourceDef): FluxKind | undefined {
  const k = def.kind as FluxKind;
  return KINDS[k] && KINDS[k].group === def.group ? k : undefined;
}

/** Go duration (`1m0s`, `10m`, `1h30m`, `30s`) in milliseconds. */
export function parseDuration(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(s))) {
    any = true;
    total += Number(m[1]) * ({ h: 3600000, m: 60000, s: 1000, ms: 1 } as Record<string, number>)[m[2]!]!;
  }
  return any ? total : undefined;
}

/** What the reconcilers use. */
export interface FluxRuntime {
  cluster: KubeCluster;
  cache: GitCache;
  now(): string;
  get(kind: FluxKind, namespace: string, name: string): KubeObject | undefined;
  list(kind: FluxKind, namespace?: string): KubeObject[];
  /** Replaces the status of the live object with `o.status`. */
  writeStatus(o: KubeObject): void;
  enqueue(kind: FluxKind, namespace: string, name: string): void;
  /** A source got a new artifact: its dependents reconcile. */
  sourceChanged(source: KubeObject): void;
  /** Deletes an object by its Flux inventory id (`ns_name_group_Kind`). */
  deleteById(id: string): void;
  tmpDir(prefix: string): string;
}

export class FluxControllers implements FluxRuntime {
  readonly cache: GitCache;
  private queue: string[] = [];
  private running = false;
  private started = false;
  private waiters: (() => void)[] = [];
  /** Emulated-clock ms of each object's last reconcile (interval scheduling). */
  private lastRun = new Map<string, number>();
  private tmpCounter = 0;
  /** Set while a reconciler writes status, so its own writes do not re-trigger it. */
  private writing = false;
  private readonly unsubscribe: () => void;

  constructor(readonly cluster: KubeCluster) {
    this.cache = new GitCache(cluster.ctx, path.join(cluster.ctx.workDir, 'kube', cluster.name, 'source.git'));
    this.unsubscribe = cluster.ctx.clock.onAdvance(() => this.onClock());
  }

  now(): string {
    return this.cluster.nowIso();
  }

  private def(kind: FluxKind): ResourceDef | undefined {
    return this.cluster.store.byKind(KINDS[kind].group, kind);
  }

  get(kind: FluxKind, namespace: string, name: string): KubeObject | undefined {
    const d = this.def(kind);
    return d ? this.cluster.store.get(d, namespace, name) : undefined;
  }

  list(kind: FluxKind, namespace?: string): KubeObject[] {
    const d = this.def(kind);
    return d ? this.cluster.store.list(d, namespace) : [];
  }

  writeStatus(o: KubeObject): void {
    const d = this.def(o.kind as FluxKind);
    if (!d) return;
    const live = this.cluster.store.get(d, o.metadata.namespace, o.metadata.name);
    if (!live) return;
    this.writing = true;
    try {
      this.cluster.store.update(d, { ...live, status: structuredClone(o.status) });
    } finally {
      this.writing = false;
    }
  }

  tmpDir(prefix: string): string {
    const dir = path.join(this.cluster.ctx.workDir, 'kube', this.cluster.name, 'tmp', `${prefix}-${++this.tmpCounter}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  deleteById(id: string): void {
    const [ns, name, group, kind] = id.split('_');
    const d = this.cluster.store.byKind(group ?? '', kind ?? '');
    if (d && name) this.cluster.store.delete(d, ns || undefined, name);
  }

  sourceChanged(source: KubeObject): void {
    for (const k of this.list('Kustomization')) {
      const ref = (k.spec as { sourceRef?: { kind?: string; name?: string; namespace?: string } } | undefined)
        ?.sourceRef;
      if (
        (ref?.kind ?? 'GitRepository') === source.kind &&
        ref?.name === source.metadata.name &&
        (ref.namespace ?? k.metadata.namespace) === source.metadata.namespace
      ) {
        this.enqueue('Kustomization', k.metadata.namespace!, k.metadata.name);
      }
    }
  }

  // ---- the queue ----

  enqueue(kind: FluxKind, namespace: string, name: string): void {
    const key = `${kind}/${namespace}/${name}`;
    if (!this.queue.includes(key)) this.queue.push(key);
    if (this.started) void this.pump();
  }

  /** Starts the controllers (first contact) and resolves when the first round of reconciles is done. */
  start(): Promise<void> {
    this.started = true;
    for (const kind of Object.keys(KINDS) as FluxKind[]) {
      for (const o of this.list(kind))
        if (needsReconcile(o)) this.enqueue(kind, o.metadata.namespace!, o.metadata.name);
    }
    void this.pump();
    return this.idle();
  }

  /** Stops scheduling and waits for the reconcile in flight (the hosts it talks to close next). */
  async stop(): Promise<void> {
    this.started = false;
    this.queue = [];
    this.unsubscribe();
    await this.idle();
  }

  idle(): Promise<void> {
    if (!this.running && (this.queue.length === 0 || !this.started)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.running || !this.started) return;
    this.running = true;
    try {
      while (this.started && this.queue.length > 0) {
        const key = this.queue.shift()!;
        try {
          const t0 = Date.now();
          await this.reconcile(key);
          // KUBE_DEBUG=1 traces reconciles and their real duration (finding slow tests).
          if (process.env.KUBE_DEBUG)
            process.stderr.write(`[emulator kube ${this.cluster.name}] reconcile ${key} ${Date.now() - t0}ms\n`);
        } catch (e) {
          process.stderr.write(
            `[emulator kube ${this.cluster.name}] reconcile ${key} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
          );
        }
      }
    } finally {
      this.running = false;
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
  }

  /** The running controller of that name (its newest running pod), if any. */
  controller(name: Controller): ControllerInfo | undefined {
    const deployDef = this.cluster.store.byKind('apps', 'Deployment')!;
    const preferred = this.cluster.state.bootstrap?.namespace;
    const deployments = this.cluster.store
      .list(deployDef)
      .filter((d) => d.metadata.name === name)
      .sort((a, b) => Number(b.metadata.namespace === preferred) - Number(a.metadata.namespace === preferred));
    for (const d of deployments) {
      const pods = this.cluster.workloads
        .podsOf(d)
        .filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
      const pod = pods[pods.length - 1];
      if (!pod) continue;
      const c = (pod.spec as { containers?: { name: string; image?: string; args?: string[] }[] }).containers ?? [];
      const manager = c.find((x) => x.name === 'manager') ?? c[0];
      const tag = /:v?([0-9][^@]*)/.exec(manager?.image?.split('/').pop() ?? '')?.[1];
      let minor = 99;
      if (tag) {
        const flux = fluxMinorForController(name, tag);
        if (flux) minor = parseVersion(flux)[1];
      }
      return { name, pod, fluxMinor: minor, args: manager?.args ?? [] };
    }
    return undefined;
  }

  private async reconcile(key: string): Promise<void> {
    const [kind, ns, name] = key.split('/') as [FluxKind, string, string];
    const obj = this.get(kind, ns, name);
    if (!obj) return;
    if ((obj.spec as { suspend?: boolean } | undefined)?.suspend) return;
    const controller = this.controller(KINDS[kind].controller);
    if (!controller) return;
    this.lastRun.set(key, this.cluster.ctx.clock.now());
    switch (kind) {
      case 'GitRepository':
        return reconcileGitRepository(this, obj, controller);
      case 'Kustomization':
        return reconcileKustomization(this, obj, controller);
      case 'ImageRepository':
        return reconcileImageRepository(this, obj);
      case 'ImagePolicy':
        return reconcileImagePolicy(this, obj);
      case 'ImageUpdateAutomation':
        return reconcileImageUpdateAutomation(this, obj, controller);
    }
  }

  // ---- triggers ----

  onChange(c: Change): void {
    const kind = fluxKindOf(c.def);
    if (kind && c.type !== 'DELETED') {
      if (!this.writing && needsReconcile(c.obj)) this.enqueue(kind, c.obj.metadata.namespace!, c.obj.metadata.name);
      return;
    }
    // A controller (re)starts: it reconciles every object it owns.
    if (c.def.kind === 'Pod' && c.type === 'ADDED') {
      const app = c.obj.metadata.labels?.app;
      if (app && (CONTROLLERS as readonly string[]).includes(app)) {
        for (const k of Object.keys(KINDS) as FluxKind[]) {
          if (KINDS[k].controller !== app) continue;
          for (const o of this.list(k)) this.enqueue(k, o.metadata.namespace!, o.metadata.name);
        }
      }
    }
  }

  private onClock(): void {
    const now = this.cluster.ctx.clock.now();
    for (const kind of Object.keys(KINDS) as FluxKind[]) {
      for (const o of this.list(kind)) {
        const key = `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
        const interval = parseDuration((o.spec as { interval?: string } | undefined)?.interval) ?? 600000;
        const last = this.lastRun.get(key);
        if (last === undefined) {
          this.lastRun.set(key, now);
          continue;
        }
        if (now - last >= interval) this.enqueue(kind, o.metadata.namespace!, o.metadata.name);
      }
    }
  }
}

/** A Flux object needs a reconcile when its generation or reconcile request was not handled yet. */
function needsReconcile(o: KubeObject): boolean {
  const st = (o.status ?? {}) as { observedGeneration?: number; lastHandledReconcileAt?: string };
  if (st.observedGeneration !== o.metadata.generation) return true;
  const requested = o.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
  return requested !== undefined && requested !== st.lastHandledReconcileAt;
}
