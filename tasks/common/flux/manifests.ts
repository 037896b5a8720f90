/**
 * Reading Kubernetes manifests (multi-document YAML) safely: syntax errors become a ManifestError
 * naming the file and line, and alias expansion is bounded (a "billion laughs" file fails fast
 * instead of eating the agent's memory).
 */
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  parseAllDocuments,
  parseDocument,
  Scalar,
  visit,
  type Document,
} from 'yaml';
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

/**
 * A map value that may differ between a fleet's copies of one file (a path, a URL): a plain scalar
 * of "safe" characters holding a '/'. Such a token is a string in every YAML schema (no null, bool,
 * number or timestamp has a '/'), cannot start or end an indicator, and has no space, quote,
 * comment or flow character, so replacing it by another safe token changes that value and nothing else.
 */
const SAFE_TOKEN = /^(?=[^\n]*\/)[A-Za-z0-9._~/][A-Za-z0-9._~/@:%+=-]*$/;
const safeToken = (t: string) => SAFE_TOKEN.test(t) && !t.endsWith(':');

interface Leaf {
  start: number;
  end: number;
  /** Where its value sits: index in the parsed values, then keys / sequence indexes. */
  path: (string | number)[];
}

interface Template {
  text: string;
  values: readonly unknown[];
  leaves: Leaf[];
}

const TEMPLATES = 4;
const templates: Template[] = [];

/**
 * parseAll for a file every folder of a fleet has in a variant (gotk-sync.yaml, whose cluster path
 * differs): when the text differs from one parsed before only inside one safe map value (see
 * SAFE_TOKEN), the values are the earlier ones with that value replaced; otherwise the text is parsed.
 * The result is frozen (callers copy before changing it).
 */
export function parseAllVariant(text: string, file: string): readonly unknown[] {
  for (const t of templates) {
    const values = fromTemplate(t, text);
    if (values) return values;
  }
  const values = deepFreeze(parseAll(text, file));
  const leaves = templateLeaves(text);
  if (leaves) {
    templates.unshift({ text, values, leaves });
    if (templates.length > TEMPLATES) templates.pop();
  }
  return values;
}

function fromTemplate(t: Template, text: string): readonly unknown[] | undefined {
  if (text === t.text) return t.values;
  const a = t.text;
  const max = Math.min(a.length, text.length);
  let p = 0;
  while (p < max && a.charCodeAt(p) === text.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && a.charCodeAt(a.length - 1 - s) === text.charCodeAt(text.length - 1 - s)) s++;
  const leaf = t.leaves.find((l) => l.start <= p && a.length - s <= l.end);
  if (!leaf) return undefined;
  const token = text.slice(leaf.start, leaf.end + text.length - a.length);
  if (!safeToken(token)) return undefined;
  return deepFreeze(withValue(t.values, leaf.path, token) as unknown[]);
}

/** A copy of `root` with the value at `path` replaced (everything off the path shared). */
function withValue(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = [...root];
    copy[head as number] = withValue(root[head as number], rest, value);
    return copy;
  }
  const rec = root as Record<string, unknown>;
  return { ...rec, [head]: withValue(rec[head as string], rest, value) };
}

/**
 * The safe map values of a text, or undefined when the text is not eligible: directives, anchors,
 * aliases, tags, errors, or a document whose value is not a map.
 */
function templateLeaves(text: string): Leaf[] | undefined {
  if (/^%/m.test(text)) return undefined;
  const docs = parseAllDocuments(text, { uniqueKeys: true }) as Document[];
  if (!Array.isArray(docs)) return undefined;
  const leaves: Leaf[] = [];
  let index = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) return undefined;
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    if (!isMap(doc.contents)) return undefined;
    let eligible = true;
    const docIndex = index++;
    visit(doc, (key, node, ancestors) => {
      if (isAlias(node) || ((isScalar(node) || isCollection(node)) && (node.anchor || node.tag))) {
        eligible = false;
        return visit.BREAK;
      }
      if (key !== 'value' || !isScalar(node) || node.type !== Scalar.PLAIN || !node.range) return undefined;
      const source = text.slice(node.range[0], node.range[1]);
      if (!safeToken(source) || node.value !== source) return undefined;
      const path = jsPath(ancestors, node);
      if (path) leaves.push({ start: node.range[0], end: node.range[1], path: [docIndex, ...path] });
      return undefined;
    });
    if (!eligible) return undefined;
  }
  return leaves;
}

/** The keys and indexes from the document to `node`; undefined when a key is not a plain string. */
function jsPath(ancestors: readonly unknown[], node: unknown): (string | number)[] | undefined {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 1; i < chain.length; i++) {
    const parent = chain[i - 1];
    const child = chain[i];
    if (isCollection(parent) && !isMap(parent)) {
      path.push(parent.items.indexOf(child as never));
    } else if (isPair(parent)) {
      if (parent.value !== child) return undefined;
      if (!isScalar(parent.key) || typeof parent.key.value !== 'string') return undefined;
      path.push(parent.key.value);
    }
  }
  return path;
}
