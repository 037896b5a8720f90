/**
 * Just enough of kustomize's patch semantics to know what the existing patches already do to the
 * few objects we care about (the Flux ServiceAccounts, Deployments and the GitRepository): target
 * selection (kind/group/version exact, name/namespace anchored regexes, label and annotation
 * selectors), strategic-merge patches as map merges with `null` deletes, and JSON 6902 ops.
 *
 * This is how hand-written equivalents (Flux docs' patches, `patchesStrategicMerge` files,
 * JSON 6902 adds) are recognised, and how the result is checked when kubectl is not around.
 * `kubectl kustomize`, when present, stays the judge of the real rendering.
 */
import { cloneJson, groupVersion, isRecord, meta, type KubeObject } from './manifests';

export interface Selector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

export type JsonOp = { op: string; path: string; value?: unknown; from?: string };

export interface SimPatch {
  /** Where it is declared, for messages: `patches[2]`, `patchesStrategicMerge[0] (sops.yaml)`. */
  label: string;
  /** One of ours (recognised by its marker). */
  ours: boolean;
  target?: Selector;
  /** Strategic-merge documents, or JSON 6902 operations. */
  smp?: KubeObject[];
  ops?: JsonOp[];
}

/**
 * A resource being simulated: its object (mutated in place) and whether a patch deleted it. A
 * `shared` object (frozen, used by other simulations too) is copied before a patch first changes it.
 */
export interface SimResource {
  obj: KubeObject;
  deleted?: boolean;
  shared?: boolean;
}

/** The resource's object, copied first when it is shared: safe to change anywhere. */
function own(r: SimResource): KubeObject {
  if (r.shared) {
    r.obj = cloneJson(r.obj);
    r.shared = false;
  }
  return r.obj;
}

/** The resource's top-level object, copied first when frozen (mergeInto copies the frozen maps it enters). */
function ownTop(r: SimResource): KubeObject {
  if (Object.isFrozen(r.obj)) r.obj = { ...r.obj };
  return r.obj;
}

export function selects(sel: Selector, obj: KubeObject): boolean {
  const gv = groupVersion(obj.apiVersion);
  const m = meta(obj);
  if (sel.kind && sel.kind !== obj.kind) return false;
  if (sel.group !== undefined && sel.group !== '' && sel.group !== gv.group) return false;
  if (sel.version && sel.version !== gv.version) return false;
  if (sel.name && !anchored(sel.name).test(m.name ?? '')) return false;
  if (sel.namespace && !anchored(sel.namespace).test(m.namespace ?? '')) return false;
  if (sel.labelSelector && !matchesSelector(sel.labelSelector, m.labels)) return false;
  if (sel.annotationSelector && !matchesSelector(sel.annotationSelector, m.annotations)) return false;
  return true;
}

/** Compiled selectors: a fleet's patches use the same few names (RegExps without g/y flags are stateless). */
const anchoredCache = new Map<string, RegExp>();

function anchored(re: string): RegExp {
  let compiled = anchoredCache.get(re);
  if (!compiled) {
    compiled = compileAnchored(re);
    if (anchoredCache.size >= 256) anchoredCache.clear();
    anchoredCache.set(re, compiled);
  }
  return compiled;
}

function compileAnchored(re: string): RegExp {
  try {
    return new RegExp(`^(?:${re})$`);
  } catch {
    // kustomize would reject it too; treat as a literal so we never throw on a user's regex.
    return new RegExp(`^${re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  }
}

/** Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export function matchesSelector(selector: string, labels: Record<string, unknown>): boolean {
  const terms = selector.match(/[^,(]+(?:\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    if (!t) return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const values = m[3].split(',').map((s) => s.trim());
      const has = m[1] in labels && values.includes(String(labels[m[1]]));
      return m[2] === 'in' ? has : !has;
    }
    m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(t);
    if (m) {
      const equal = m[1] in labels && String(labels[m[1]]) === m[3];
      return m[2] === '!=' ? !equal : equal;
    }
    if (t.startsWith('!')) return !(t.slice(1).trim() in labels);
    return t in labels;
  });
}

/** Applies one patch to every resource it selects, as kustomize would. */
export function applyPatch(patch: SimPatch, resources: SimResource[]): void {
  const live = resources.filter((r) => !r.deleted);
  if (patch.ops) {
    if (!patch.target) return; // kustomize requires a target for JSON 6902
    for (const r of live) if (selects(patch.target, r.obj)) applyJsonOps(own(r), patch.ops);
    return;
  }
  for (const doc of patch.smp ?? []) {
    const selected = patch.target
      ? live.filter((r) => selects(patch.target as Selector, r.obj))
      : live.filter((r) => sameId(doc, r.obj));
    for (const r of selected) {
      if (isRecord(doc) && doc.$patch === 'delete') {
        r.deleted = true;
        continue;
      }
      const { metadata, ...rest } = doc;
      const m = isRecord(metadata) ? { ...metadata } : {};
      // Name, namespace and kind never change through a targeted patch (kustomize keeps them).
      delete m.name;
      delete m.namespace;
      const { apiVersion: _a, kind: _k, ...body } = rest;
      mergeInto(ownTop(r), { ...body, metadata: m });
    }
  }
}

/** An untargeted strategic-merge patch matches by full id (group, version, kind, name, namespace). */
function sameId(patch: KubeObject, obj: KubeObject): boolean {
  const p = meta(patch);
  const o = meta(obj);
  return (
    patch.kind === obj.kind &&
    patch.apiVersion === obj.apiVersion &&
    p.name === o.name &&
    (p.namespace || 'default') === (o.namespace || 'default')
  );
}

/** Strategic merge for plain maps: nested maps merge, `null` deletes, everything else replaces (frozen maps are copied, never changed). */
export function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  if (patch.$patch === 'replace') {
    for (const k of Object.keys(target)) delete target[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete target[k];
      continue;
    }
    if (isRecord(v) && v.$patch === 'delete') {
      delete target[k];
      continue;
    }
    if (isRecord(v)) {
      const t = target[k];
      // A frozen (shared) map is copied before it changes; what the patch does not touch stays shared.
      const into = !isRecord(t) ? {} : Object.isFrozen(t) ? { ...t } : t;
      target[k] = into;
      mergeInto(into, v);
      continue;
    }
    target[k] = cloneJson(v);
  }
}

function pointer(path: string): string[] {
  if (path === '' || path === '/') return [];
  return path
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add/replace/remove/copy/move on plain values; an op that cannot apply is skipped. */
export function applyJsonOps(obj: Record<string, unknown>, ops: readonly JsonOp[]): void {
  for (const op of ops) {
    const path = pointer(op.path);
    if (path.length === 0) continue;
    const parent = walk(obj, path.slice(0, -1));
    if (parent === undefined) continue;
    const key = path[path.length - 1];
    const value = op.op === 'copy' || op.op === 'move' ? readPointer(obj, op.from ?? '') : op.value;
    if (op.op === 'move' && op.from) removeAt(obj, pointer(op.from));
    switch (op.op) {
      case 'add':
      case 'copy':
      case 'move':
        if (Array.isArray(parent)) {
          const i = key === '-' ? parent.length : Number(key);
          if (Number.isInteger(i) && i >= 0 && i <= parent.length) parent.splice(i, 0, cloneJson(value));
        } else parent[key] = cloneJson(value);
        break;
      case 'replace':
        if (Array.isArray(parent)) {
          const i = Number(key);
          if (i >= 0 && i < parent.length) parent[i] = cloneJson(value);
        } else if (key in parent) parent[key] = cloneJson(value);
        break;
      case 'remove':
        removeAt(obj, path);
        break;
      default: // 'test' and unknown ops change nothing
    }
  }
}

type Container = Record<string, unknown> | unknown[];

/** The container at `path`; undefined when missing (RFC 6902 never creates intermediate objects). */
function walk(obj: Record<string, unknown>, path: string[]): Container | undefined {
  let cur: unknown = obj;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isRecord(cur)) cur = cur[p];
    else return undefined;
  }
  return Array.isArray(cur) || isRecord(cur) ? cur : undefined;
}

function readPointer(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const p of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isRecord(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function removeAt(obj: Record<string, unknown>, path: string[]): void {
  const parent = walk(obj, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (parent) delete parent[key];
}
