/**
 * The four ways to change an object through PATCH, as the API server implements them:
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch (built-in kinds only:
 * lists of containers/env/volumes/... merge by key, `$patch`, `$retainKeys`,
 * `$setElementOrder`, `$deleteFromPrimitiveList` directives) and server-side apply (a
 * simplified field ownership: each apply manager owns the fields it last applied, and fields it
 * stops applying are removed; lists are atomic except the keyed ones; no conflict detection).
 */
import type { KubeObject, ManagedFieldsEntry } from './model';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class PatchError extends Error {}

function decodePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer '${p}'`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(
  doc: unknown,
  tokens: string[],
  op: string,
  path: string,
): { parent: Record<string, unknown> | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined)
      throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur))
    throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, path: string, op: string): unknown {
  let cur: unknown = doc;
  for (const t of decodePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined)
      throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return cur;
}

/** RFC 6902 with the wording of the evanphx/json-patch library the API server uses. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = clone(doc);
  for (const raw of ops) {
    if (!isObject(raw)) throw new PatchError('invalid JSON patch operation');
    const op = String(raw.op);
    const path = String(raw.path ?? '');
    const tokens = decodePointer(path);
    const add = (value: unknown) => {
      if (tokens.length === 0) {
        out = clone(value);
        return;
      }
      const { parent, key } = parentOf(out, tokens, op, path);
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!Number.isInteger(i) || i < 0 || i > parent.length)
          throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
        parent.splice(i, 0, clone(value));
      } else parent[key] = clone(value);
    };
    const remove = () => {
      const { parent, key } = parentOf(out, tokens, op, path);
      if (Array.isArray(parent)) {
        const i = Number(key);
        if (!(i >= 0 && i < parent.length))
          throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
        parent.splice(i, 1);
      } else {
        if (!(key in parent)) throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`);
        delete parent[key];
      }
    };
    switch (op) {
      case 'add':
        add(raw.value);
        break;
      case 'remove':
        remove();
        break;
      case 'replace': {
        const { parent, key } = parentOf(out, tokens, op, path);
        if (Array.isArray(parent) ? !(Number(key) < parent.length) : !(key in parent)) {
          throw new PatchError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
        }
        if (Array.isArray(parent)) parent[Number(key)] = clone(raw.value);
        else parent[key] = clone(raw.value);
        break;
      }
      case 'move': {
        const v = getAt(out, String(raw.from), op);
        jsonPatchRemoveAt(out, String(raw.from));
        add(v);
        break;
      }
      case 'copy':
        add(getAt(out, String(raw.from), op));
        break;
      case 'test': {
        const v = getAt(out, path, op);
        if (JSON.stringify(v) !== JSON.stringify(raw.value))
          throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${op}`);
    }
  }
  return out;
}

function jsonPatchRemoveAt(doc: unknown, from: string): void {
  const tokens = decodePointer(from);
  const { parent, key } = parentOf(doc, tokens, 'move', from);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}

/** The merge key of a list field, by field name and parent field (strategic merge / apply). */
export function mergeKeyFor(field: string, parentField: string | undefined): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'ports':
      return parentField === 'spec' ? 'port' : 'containerPort';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    default:
      return undefined;
  }
}

const PRIMITIVE_MERGE_LISTS = new Set(['finalizers']);

/** Strategic merge patch for built-in kinds. */
export function strategicMergePatch(target: unknown, patch: unknown, field?: string): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  let out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const name = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[name])) out[name] = (out[name] as unknown[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = mergeList(out[k], v, k, field);
      continue;
    }
    if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v, k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
      continue;
    }
    out[k] = v;
  }
  return out;
}

function mergeList(current: unknown, patch: unknown[], field: string, parentField: string | undefined): unknown[] {
  const cur = Array.isArray(current) ? current : [];
  if (PRIMITIVE_MERGE_LISTS.has(field)) {
    const seen = new Set(cur.map((x) => JSON.stringify(x)));
    return [...cur, ...patch.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  const key = mergeKeyFor(field, parentField);
  if (!key) return clone(patch.filter((x) => !(isObject(x) && x.$patch === 'replace')));
  const out = cur.map((x) => clone(x));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const idx = out.findIndex((x) => isObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, field);
    else out.push(strategicMergePatch(undefined, item, field));
  }
  return out;
}

/** Field paths of an applied configuration, as managedFields `fieldsV1` (lists atomic). */
export function fieldsOf(obj: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      const m: JsonObject = {};
      for (const mk of ['labels', 'annotations'] as const) {
        if (isObject(v[mk])) m[`f:${mk}`] = Object.fromEntries(Object.keys(v[mk] as object).map((x) => [`f:${x}`, {}]));
      }
      if (Object.keys(m).length) out['f:metadata'] = m;
      continue;
    }
    out[`f:${k}`] = isObject(v) && Object.keys(v).length > 0 ? fieldsOf(v) : {};
  }
  return out;
}

/** Leaf paths of a fieldsV1 set (each path a list of field names). */
function leafPaths(fields: unknown, prefix: string[] = []): string[][] {
  if (!isObject(fields) || Object.keys(fields).length === 0) return prefix.length ? [prefix] : [];
  return Object.entries(fields).flatMap(([k, v]) => leafPaths(v, [...prefix, k.replace(/^f:/, '')]));
}

function hasPath(fields: unknown, path: string[]): boolean {
  let cur: unknown = fields;
  for (const p of path) {
    if (!isObject(cur) || !(`f:${p}` in cur)) return false;
    cur = cur[`f:${p}`];
  }
  return true;
}

/** Removes a field, and the maps above it that become empty and are not applied any more. */
function deletePath(obj: Record<string, unknown>, path: string[], stillApplied: unknown): void {
  const chain: Record<string, unknown>[] = [];
  let cur: unknown = obj;
  for (const p of path.slice(0, -1)) {
    if (!isObject(cur)) return;
    chain.push(cur);
    cur = cur[p];
  }
  if (!isObject(cur)) return;
  delete cur[path[path.length - 1]!];
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = chain[i]!;
    const child = parent[path[i]!];
    if (!isObject(child) || Object.keys(child).length > 0 || hasPath(stillApplied, path.slice(0, i + 1))) break;
    delete parent[path[i]!];
  }
}

function applyMerge(live: unknown, applied: unknown, field?: string): unknown {
  if (!isObject(applied)) return clone(applied);
  const out: Record<string, unknown> = isObject(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(applied)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const key = mergeKeyFor(k, field);
      out[k] = key ? mergeList(out[k], v, k, field) : clone(v);
    } else if (isObject(v)) out[k] = applyMerge(out[k], v, k);
    else out[k] = v;
  }
  return out;
}

/**
 * Server-side apply of `applied` over `live` (undefined when creating) for `manager`: fields this
 * manager applied before and no longer applies are removed; the rest is merged; the manager's
 * managedFields entry is replaced.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  now: string,
  takeOver: string[] = [],
): KubeObject {
  const base: KubeObject = live
    ? clone(live)
    : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata.name } };
  let entries: ManagedFieldsEntry[] = base.metadata.managedFields ?? [];
  // Managers taken over (kustomize-controller's cleanup of `flux`, `kubectl`, ...): their fields become ours.
  const owned = entries.filter(
    (e) => e.operation === 'Apply' && (e.manager === manager || takeOver.includes(e.manager)),
  );
  entries = entries.filter((e) => !takeOver.includes(e.manager));
  const newFields = fieldsOf(applied);
  for (const entry of owned) {
    for (const p of leafPaths(entry.fieldsV1)) {
      if (!hasPath(newFields, p)) deletePath(base as unknown as Record<string, unknown>, p, newFields);
    }
  }
  const { metadata: appliedMeta, status: _s, ...appliedRest } = applied;
  const merged = applyMerge(base, appliedRest) as KubeObject;
  merged.metadata = { ...base.metadata };
  for (const mk of ['labels', 'annotations'] as const) {
    const add = appliedMeta[mk];
    if (isObject(add)) merged.metadata[mk] = { ...(merged.metadata[mk] ?? {}), ...(add as Record<string, string>) };
    if (merged.metadata[mk] && Object.keys(merged.metadata[mk]!).length === 0) delete merged.metadata[mk];
  }
  if (appliedMeta.namespace && !merged.metadata.namespace) merged.metadata.namespace = appliedMeta.namespace;
  merged.apiVersion = applied.apiVersion;
  merged.kind = applied.kind;
  merged.metadata.managedFields = [
    ...entries.filter((e) => !(e.manager === manager && e.operation === 'Apply')),
    {
      manager,
      operation: 'Apply',
      apiVersion: applied.apiVersion,
      time: now,
      fieldsType: 'FieldsV1',
      fieldsV1: newFields,
    },
  ];
  return merged;
}

/** A field another manager owns with a different value than the one applied. */
export interface ApplyConflict {
  manager: string;
  apiVersion: string;
  /** `.spec.replicas` */
  field: string;
  path: string[];
}

function valueAt(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * Server-side apply conflicts (https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts):
 * a field the applied configuration sets to a value that differs from the live one, while another
 * manager owns it.
 */
export function applyConflicts(live: KubeObject, applied: KubeObject, manager: string): ApplyConflict[] {
  const mine = fieldsOf(applied);
  const out: ApplyConflict[] = [];
  for (const e of live.metadata.managedFields ?? []) {
    if (e.manager === manager) continue;
    for (const p of leafPaths(e.fieldsV1)) {
      if (!hasPath(mine, p)) continue;
      if (JSON.stringify(valueAt(live, p)) === JSON.stringify(valueAt(applied, p))) continue;
      out.push({ manager: e.manager, apiVersion: e.apiVersion, field: `.${p.join('.')}`, path: p });
    }
  }
  return out;
}

/** `force=true`: the conflicting fields leave their former managers (entries left empty are dropped). */
export function releaseFields(live: KubeObject, conflicts: ApplyConflict[]): void {
  const entries = live.metadata.managedFields ?? [];
  for (const c of conflicts) {
    const e = entries.find((x) => x.manager === c.manager);
    if (!e) continue;
    let cur: unknown = e.fieldsV1;
    for (const p of c.path.slice(0, -1)) cur = isObject(cur) ? cur[`f:${p}`] : undefined;
    if (isObject(cur)) delete cur[`f:${c.path[c.path.length - 1]!}`];
  }
  live.metadata.managedFields = entries.filter((e) => leafPaths(e.fieldsV1).length > 0);
}
