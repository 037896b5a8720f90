/**
 * One cluster's object storage (the etcd of the emulated API server): objects at their storage
 * version, a cluster-wide resourceVersion counter, uid / creationTimestamp / generation
 * bookkeeping, change notifications for the in-process controllers, and the resource registry
 * (built-ins + the cluster's CustomResourceDefinitions).
 */
import * as crypto from 'node:crypto';
import type { Clock } from '../core/clock';
import type { KubeClusterState, KubeObject } from './model';
import { clone, isObject } from './patch';
import type { ResourceDef } from './resources';
import { BUILTIN_RESOURCES, resourceFromCrd, splitApiVersion } from './resources';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface Change {
  type: ChangeType;
  def: ResourceDef;
  obj: KubeObject;
  old?: KubeObject;
}

const keyOf = (group: string, kind: string, ns: string | undefined, name: string) =>
  `${group}/${kind}/${ns ?? ''}/${name}`;

/** Spec-like content: everything but metadata and status (what metadata.generation counts). */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return JSON.stringify(rest);
}

export class Store {
  private readonly index = new Map<string, KubeObject>();
  private listeners: ((c: Change) => void)[] = [];
  private crdDefs = new Map<string, ResourceDef>();

  constructor(
    private readonly state: KubeClusterState,
    private readonly clock: Clock,
  ) {
    for (const o of state.objects) this.index.set(this.keyFor(o), o);
    this.refreshCrds();
  }

  // ---- registry ----

  /** Every resource the cluster serves right now. */
  resources(): ResourceDef[] {
    return [...BUILTIN_RESOURCES, ...this.crdDefs.values()];
  }

  byPlural(group: string, plural: string): ResourceDef | undefined {
    return this.resources().find((d) => d.group === group && d.plural === plural);
  }

  byKind(group: string, kind: string): ResourceDef | undefined {
    return this.resources().find((d) => d.group === group && d.kind === kind);
  }

  /** The resource for an apiVersion + kind, only when that version is served. */
  forObject(apiVersion: string, kind: string): ResourceDef | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    const def = this.byKind(group, kind);
    return def && def.versions.includes(version) ? def : undefined;
  }

  private refreshCrds(): void {
    this.crdDefs = new Map();
    for (const o of this.index.values()) {
      if (o.kind !== 'CustomResourceDefinition') continue;
      const def = resourceFromCrd(o);
      if (def) this.crdDefs.set(`${def.group}/${def.plural}`, def);
    }
  }

  // ---- objects ----

  private keyFor(o: KubeObject): string {
    return keyOf(splitApiVersion(o.apiVersion).group, o.kind, o.metadata.namespace, o.metadata.name);
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.index.get(keyOf(def.group, def.kind, def.namespaced ? namespace : undefined, name));
  }

  list(def: ResourceDef, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.index.values()) {
      if (o.kind !== def.kind || splitApiVersion(o.apiVersion).group !== def.group) continue;
      if (namespace !== undefined && def.namespaced && o.metadata.namespace !== namespace) continue;
      out.push(o);
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
      ),
    );
  }

  resourceVersion(): string {
    return String(this.state.resourceVersion ?? 0);
  }

  private nextRv(): string {
    this.state.resourceVersion = (this.state.resourceVersion ?? 0) + 1;
    return String(this.state.resourceVersion);
  }

  private persist(): void {
    this.state.objects = [...this.index.values()];
  }

  /** Stores a new object (the caller checked it does not exist). Returns the stored copy. */
  create(def: ResourceDef, obj: KubeObject): KubeObject {
    const o = clone(obj);
    o.apiVersion = def.group ? `${def.group}/${def.storageVersion}` : def.storageVersion;
    o.kind = def.kind;
    if (!def.namespaced) delete o.metadata.namespace;
    o.metadata.uid = crypto.randomUUID();
    o.metadata.creationTimestamp = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    o.metadata.resourceVersion = this.nextRv();
    if (def.generation) o.metadata.generation = 1;
    else delete o.metadata.generation;
    this.index.set(this.keyFor(o), o);
    this.persist();
    if (def.kind === 'CustomResourceDefinition') this.refreshCrds();
    this.emit({ type: 'ADDED', def, obj: o });
    return o;
  }

  /** Replaces a stored object; bumps resourceVersion, and generation when the spec changed. */
  update(def: ResourceDef, obj: KubeObject): KubeObject {
    const old = this.get(def, obj.metadata.namespace, obj.metadata.name);
    if (!old) throw new Error(`update of a missing object ${def.kind} ${obj.metadata.name}`);
    const o = clone(obj);
    o.apiVersion = old.apiVersion;
    o.kind = def.kind;
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (!def.namespaced) delete o.metadata.namespace;
    else o.metadata.namespace = old.metadata.namespace;
    if (def.generation) o.metadata.generation = (old.metadata.generation ?? 1) + (specOf(o) !== specOf(old) ? 1 : 0);
    else delete o.metadata.generation;
    if (!metaChanged(old, o)) {
      return old;
    }
    o.metadata.resourceVersion = this.nextRv();
    this.index.set(this.keyFor(o), o);
    this.persist();
    if (def.kind === 'CustomResourceDefinition') this.refreshCrds();
    this.emit({ type: 'MODIFIED', def, obj: o, old });
    return o;
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const old = this.get(def, namespace, name);
    if (!old) return undefined;
    this.index.delete(this.keyFor(old));
    this.persist();
    if (def.kind === 'CustomResourceDefinition') {
      // Deleting a CRD deletes its custom resources, as on a real cluster.
      const gone = resourceFromCrd(old);
      this.refreshCrds();
      if (gone)
        for (const o of [...this.index.values()]) {
          if (o.kind === gone.kind && splitApiVersion(o.apiVersion).group === gone.group)
            this.index.delete(this.keyFor(o));
        }
      this.persist();
    }
    this.emit({ type: 'DELETED', def, obj: old });
    return old;
  }

  /** Registers a listener; returns its removal. */
  onChange(listener: (c: Change) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private emit(c: Change): void {
    for (const l of this.listeners) l(c);
  }
}

/** True when anything but resourceVersion differs (a no-op write does not bump resourceVersion). */
function metaChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const c = clone(o);
    delete c.metadata.resourceVersion;
    delete c.metadata.managedFields;
    return JSON.stringify(sortKeys(c));
  };
  return strip(a) !== strip(b);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}
