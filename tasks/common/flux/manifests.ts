/**
 * Reading Kubernetes manifests (multi-document YAML) safely: syntax errors become a ManifestError
 * naming the file and line, and alias expansion is bounded (a "billion laughs" file fails fast
 * instead of eating the agent's memory).
 */
import { parseAllDocuments, parseDocument, type Document } from 'yaml';
import { ManifestError } from './errors';

/** Aliases a manifest may expand; real manifests use none, so this is generous. */
export const MAX_ALIAS_COUNT = 100;

export type KubeObject = Record<string, unknown> & {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
};

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A document's plain value, or a ManifestError for a syntax error or an alias bomb. */
export function documentValue(doc: Document, file: string): unknown {
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ManifestError(
      `${file} is not valid YAML: ${e.message.split('\n')[0]}${lineOf(e.linePos)}. Fix the file and run again.`,
      file,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(msg)) {
      throw new ManifestError(
        `${file} expands YAML aliases excessively (${msg}); a manifest never needs this. Remove the anchors/aliases.`,
        file,
      );
    }
    throw new ManifestError(`${file} cannot be read: ${msg}`, file);
  }
}

function lineOf(linePos: readonly { line: number; col: number }[] | undefined): string {
  return linePos && linePos[0] ? ` (line ${linePos[0].line}, column ${linePos[0].col})` : '';
}

export function parseOne(text: string, file: string): { doc: Document; value: unknown } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, keepSourceTokens: false });
  return { doc, value: documentValue(doc, file) };
}

/** All documents of a stream as plain values (empty documents skipped). */
export function parseAll(text: string, file: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  // parseAllDocuments returns an EmptyStream (array-like, no documents) for an empty input.
  const out: unknown[] = [];
  for (const doc of docs as Document[]) {
    const v = documentValue(doc, file);
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Only the documents of `text` whose top-level `kind:` is one of `kinds`, parsed. Flux's
 * gotk-components.yaml is ~1 MB of CRDs; splitting at document markers and parsing only the few
 * ServiceAccounts and Deployments keeps a 1,000-cluster fleet fast. A `---` can only start a line
 * at column 0 as a document marker (block scalar content is always indented), so the split is
 * exact for the files Flux and kustomize write.
 */
export function parseKinds(text: string, file: string, kinds: readonly string[]): readonly KubeObject[] {
  // A fleet's clusters usually share one Flux version, so the same gotk-components.yaml text comes
  // back many times in a run: parse it once (the result is frozen, callers clone to change it).
  const key = `${kinds.join(',')}\u0000${text}`;
  const hit = kindsCache.get(key);
  if (hit) return hit;
  const out = deepFreeze(parseKindsUncached(text, file, kinds));
  kindsCache.set(key, out);
  if (kindsCache.size > KINDS_CACHE_SIZE) kindsCache.delete(kindsCache.keys().next().value as string);
  return out;
}

const KINDS_CACHE_SIZE = 8;
const kindsCache = new Map<string, readonly KubeObject[]>();

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

function parseKindsUncached(text: string, file: string, kinds: readonly string[]): KubeObject[] {
  const kindRe = new RegExp(`^kind:[ \\t]*["']?(?:${kinds.join('|')})["']?[ \\t]*(?:#.*)?\\r?$`, 'm');
  const out: KubeObject[] = [];
  for (const chunk of text.split(/^---[ \t]*(?:#.*)?\r?$/m)) {
    if (!kindRe.test(chunk)) continue;
    for (const v of parseAll(chunk, file)) {
      if (isRecord(v) && typeof v.kind === 'string' && kinds.includes(v.kind)) out.push(v);
    }
  }
  return out;
}

export function meta(obj: KubeObject): {
  name?: string;
  namespace?: string;
  labels: Record<string, unknown>;
  annotations: Record<string, unknown>;
} {
  const m = isRecord(obj.metadata) ? obj.metadata : {};
  return {
    name: typeof m.name === 'string' ? m.name : undefined,
    namespace: typeof m.namespace === 'string' ? m.namespace : undefined,
    labels: isRecord(m.labels) ? m.labels : {},
    annotations: isRecord(m.annotations) ? m.annotations : {},
  };
}

/** `group/version` split: `apps/v1` -> {group: apps, version: v1}; `v1` -> {group: '', version: v1}. */
export function groupVersion(apiVersion: unknown): { group: string; version: string } {
  const s = typeof apiVersion === 'string' ? apiVersion : '';
  const i = s.lastIndexOf('/');
  return i < 0 ? { group: '', version: s } : { group: s.slice(0, i), version: s.slice(i + 1) };
}

/** Reads a nested value: get(obj, 'spec', 'template', 'metadata'). */
export function getPath(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * A deep copy of a parsed YAML value (maps, sequences and scalars, which is all `toJS` gives with
 * the core schema); anything else goes through structuredClone. Several times faster than
 * structuredClone on the plain objects a manifest holds.
 */
export function cloneJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) out[key] = cloneJson((v as Record<string, unknown>)[key]);
  return out as T;
}

/**
 * A bounded memo for pure functions of a text (parsing): the same text gives the same result, which
 * callers must not change (freeze what can be frozen). Only successful results are kept, so an
 * error is raised again with its caller's file name.
 */
export function textMemo<T>(size: number): (text: string, compute: () => T) => T {
  const cache = new Map<string, T>();
  return (text, compute) => {
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    const value = compute();
    cache.set(text, value);
    if (cache.size > size) cache.delete(cache.keys().next().value as string);
    return value;
  };
}

const sharedParses = textMemo<readonly unknown[]>(256);

/**
 * parseAll for texts that recur across a fleet (inline patches, patch files): parsed once per run,
 * the values frozen (callers copy before changing them). Errors are not cached.
 */
export function parseAllShared(text: string, file: string): readonly unknown[] {
  return sharedParses(text, () => deepFreeze(parseAll(text, file)));
}
