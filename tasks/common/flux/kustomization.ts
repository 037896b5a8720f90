/**
 * kustomization.yaml: reading it (with the `yaml` Document API: nodes, source ranges, comments)
 * and changing only its `patches` entries.
 *
 * The edit is made on the parsed Document and written back by replacing only the source ranges
 * of the nodes that changed (a new entry after the last one, or one of our own entries rewritten
 * in place): every other byte - comments, key order, quoting, blank lines, sequence indentation,
 * CRLF line endings, a missing final newline - stays as it was. New entries copy the indentation
 * of the entries around them. When the file's shape does not allow that (a flow-style `patches`
 * list with items, a flow-style root), the Document is serialised instead. Either way the result
 * is re-parsed and must equal the intended Document value, or the edit is refused.
 */
import {
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ManifestError } from './errors';
import type { Selector } from './kustomize-sim';
import { deepFreeze, documentValue, isRecord, MAX_ALIAS_COUNT, textMemo } from './manifests';
import { isOurs, roleOfKind, type OurPatch, type PatchRole } from './patches';

export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export type PatchField = 'patches' | 'patchesStrategicMerge' | 'patchesJson6902';

export interface PatchEntry {
  field: PatchField;
  index: number;
  /** For messages: `patches[2]` or `patchesStrategicMerge[0] (sops.yaml)`. */
  label: string;
  inline?: string;
  /** A file path, relative to the kustomization's folder. */
  path?: string;
  target?: Selector;
  ours: boolean;
  /** For ours: which of our patches it is (from the kind it patches). */
  role?: PatchRole;
}

export interface KustomizationFile {
  fileName: string;
  /** The text without a leading byte order mark (the parser's offsets do not count it). */
  text: string;
  /** The file started with a UTF-8 byte order mark (kept on write). */
  bom: boolean;
  doc: Document.Parsed;
  value: Record<string, unknown>;
  eol: '\n' | '\r\n';
  resources: string[];
  entries: PatchEntry[];
}

/** A fleet's folders usually share one kustomization text (before and after the patch): parse it once. */
const parsedKustomizations = textMemo<{ doc: Document.Parsed; value: unknown }>(64);

export function readKustomization(raw: string, fileName: string): KustomizationFile {
  const bom = raw.startsWith('\uFEFF');
  const text = bom ? raw.slice(1) : raw;
  const { doc, value } = parsedKustomizations(text, () => {
    const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    return { doc: parsed, value: deepFreeze(documentValue(parsed, fileName)) };
  });
  if (value === null || value === undefined) {
    throw new ManifestError(
      `${fileName} is empty. A flux-system folder's kustomization lists gotk-components.yaml and gotk-sync.yaml; run \`flux bootstrap\` first.`,
      fileName,
    );
  }
  if (!isRecord(value))
    throw new ManifestError(`${fileName} is not a kustomization (a YAML mapping was expected).`, fileName);
  const apiVersion = value.apiVersion;
  const kind = value.kind;
  if (typeof apiVersion === 'string' && apiVersion.startsWith('kustomize.toolkit.fluxcd.io')) {
    throw new ManifestError(
      `${fileName} is a Flux Kustomization (${apiVersion}), not a kustomize one (kustomize.config.k8s.io/v1beta1). Point fluxSystemPath at the folder that holds gotk-components.yaml, gotk-sync.yaml and the kustomize kustomization.yaml.`,
      fileName,
    );
  }
  if (
    (apiVersion !== undefined &&
      !(typeof apiVersion === 'string' && apiVersion.startsWith('kustomize.config.k8s.io/'))) ||
    (kind !== undefined && kind !== 'Kustomization')
  ) {
    throw new ManifestError(
      `${fileName} is not a kustomize Kustomization (apiVersion ${String(apiVersion)}, kind ${String(kind)}); expected apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization.`,
      fileName,
    );
  }
  const resources = Array.isArray(value.resources)
    ? value.resources.filter((r): r is string => typeof r === 'string')
    : [];
  return { fileName, text, bom, doc, value, eol: detectEol(text), resources, entries: listEntries(value) };
}

function detectEol(text: string): '\n' | '\r\n' {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length;
  return crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
}

function toSelector(v: unknown): Selector | undefined {
  if (!isRecord(v)) return undefined;
  const s: Selector = {};
  for (const k of ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'] as const) {
    if (typeof v[k] === 'string') s[k] = v[k];
  }
  return s;
}

function listEntries(value: Record<string, unknown>): PatchEntry[] {
  const out: PatchEntry[] = [];
  const list = (f: PatchField) => (Array.isArray(value[f]) ? (value[f] as unknown[]) : []);
  list('patchesStrategicMerge').forEach((item, index) => {
    if (typeof item !== 'string') return;
    // Entries are file paths, or (older kustomize style) the patch itself inline.
    const inline = /\n/.test(item.trim()) || /^\s*(apiVersion|kind)\s*:/.test(item);
    out.push({
      field: 'patchesStrategicMerge',
      index,
      ours: false,
      label: `patchesStrategicMerge[${index}]${inline ? '' : ` (${item})`}`,
      ...(inline ? { inline: item } : { path: item.trim() }),
    });
  });
  list('patches').forEach((item, index) => {
    if (!isRecord(item)) return;
    const entry: PatchEntry = {
      field: 'patches',
      index,
      label: `patches[${index}]`,
      ours: false,
      target: toSelector(item.target),
    };
    if (typeof item.patch === 'string') {
      entry.inline = item.patch;
      entry.ours = isOurs(item.patch);
      if (entry.ours) {
        const kind = /^kind:\s*(\S+)/m.exec(item.patch)?.[1];
        entry.role = roleOfKind(kind);
        if (!entry.role) entry.ours = false;
      }
    } else if (typeof item.path === 'string') {
      entry.path = item.path;
      entry.label += ` (${item.path})`;
    } else return;
    out.push(entry);
  });
  list('patchesJson6902').forEach((item, index) => {
    if (!isRecord(item)) return;
    const entry: PatchEntry = {
      field: 'patchesJson6902',
      index,
      label: `patchesJson6902[${index}]`,
      ours: false,
      target: toSelector(item.target),
    };
    if (typeof item.patch === 'string') entry.inline = item.patch;
    else if (typeof item.path === 'string') {
      entry.path = item.path;
      entry.label += ` (${item.path})`;
    } else return;
    out.push(entry);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Editing

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** What changed, for the log. */
export interface KustomizationChange {
  added: PatchRole[];
  updated: PatchRole[];
  removed: number;
}

/**
 * The kustomization text with our patches set to exactly `desired` (in that order): an existing
 * patch of ours for the same role is updated in place, a missing one is appended to `patches`,
 * one no longer needed (or a duplicate) is removed. Returns the original text when nothing changes.
 */
export function setOurPatches(
  k: KustomizationFile,
  desired: readonly OurPatch[],
): { text: string; change: KustomizationChange } {
  // The result depends only on the file's text and the patches: a fleet computes it once.
  const key = `${k.bom ? '\uFEFF' : ''}${k.text}\u0000${JSON.stringify(desired)}`;
  const { text, change } = editedKustomizations(key, () => Object.freeze(computeOurPatches(k, desired)));
  return { text, change: { added: [...change.added], updated: [...change.updated], removed: change.removed } };
}

const editedKustomizations = textMemo<{ text: string; change: KustomizationChange }>(64);

function computeOurPatches(
  k: KustomizationFile,
  desired: readonly OurPatch[],
): { text: string; change: KustomizationChange } {
  const ours = k.entries.filter((e) => e.field === 'patches' && e.ours);
  const change: KustomizationChange = { added: [], updated: [], removed: 0 };
  const used = new Set<PatchEntry>();
  const replace: { entry: PatchEntry; patch: OurPatch }[] = [];
  const add: OurPatch[] = [];
  for (const patch of desired) {
    const existing = ours.find((e) => e.role === patch.role && !used.has(e));
    if (!existing) {
      add.push(patch);
      change.added.push(patch.role);
      continue;
    }
    used.add(existing);
    if (!sameOurPatch(existing, patch)) {
      replace.push({ entry: existing, patch });
      change.updated.push(patch.role);
    }
  }
  const remove = ours.filter((e) => !used.has(e));
  change.removed = remove.length;
  const original = (k.bom ? '\uFEFF' : '') + k.text;
  if (add.length === 0 && replace.length === 0 && remove.length === 0) return { text: original, change };

  const expected = expectedValue(k, replace, remove, add);
  let text = spliceEdit(k, replace, remove, add);
  if (text === undefined || !sameValue(parseOrUndefined(text), expected)) {
    // The file's layout is unusual (flow style): let the Document serialise itself.
    text = serialiseEdit(k, replace, remove, add);
    if (!sameValue(parseOrUndefined(text), expected)) {
      throw new ManifestError(
        `${k.fileName}: the patches could not be written without changing other content; add them by hand (see the plan output) or simplify the file's layout.`,
        k.fileName,
      );
    }
  }
  return { text: (k.bom ? '\uFEFF' : '') + text, change };
}

/** The canonical JSON of a patch text's value ('' when it does not parse): parsed once per text. */
const canonicalPatches = textMemo<string>(256);

function sameOurPatch(entry: PatchEntry, patch: OurPatch): boolean {
  const canonicalText = (text: string) =>
    canonicalPatches(text, () => {
      const v = parseOrUndefined(text);
      return v === undefined ? '' : JSON.stringify(canonical(v));
    });
  const a = canonicalText(entry.inline ?? '');
  return a !== '' && a === canonicalText(patch.text) && sameValue(entry.target ?? {}, patch.target);
}

function parseOrUndefined(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return undefined;
  }
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isRecord(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((key) => v[key] !== undefined)
        .map((key) => [key, canonical(v[key])]),
    );
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function entryValue(p: OurPatch): Record<string, unknown> {
  return { patch: p.text, target: { ...p.target } };
}

function expectedValue(
  k: KustomizationFile,
  replace: { entry: PatchEntry; patch: OurPatch }[],
  remove: PatchEntry[],
  add: OurPatch[],
): unknown {
  const value = structuredClone(k.value);
  const patches = Array.isArray(value.patches) ? [...(value.patches as unknown[])] : [];
  for (const r of replace) patches[r.entry.index] = entryValue(r.patch);
  const removed = new Set(remove.map((e) => e.index));
  const kept = patches.filter((_, i) => !removed.has(i));
  value.patches = [...kept, ...add.map(entryValue)];
  return value;
}

// --- splicing ----------------------------------------------------------------------------------

function lineStart(text: string, i: number): number {
  return text.lastIndexOf('\n', i - 1) + 1;
}

/** The end of the line containing position i-1 (after its '\n'), or the end of the text. */
function afterLine(text: string, i: number): number {
  if (i > 0 && text[i - 1] === '\n') return i;
  const nl = text.indexOf('\n', i);
  return nl < 0 ? text.length : nl + 1;
}

interface SeqLayout {
  dashCol: number;
  contentCol: number;
  unit: number;
}

function rootMap(k: KustomizationFile): YAMLMap | undefined {
  const c = k.doc.contents;
  return isMap(c) && !c.flow ? c : undefined;
}

function patchesPair(map: YAMLMap): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === 'patches') as Pair | undefined;
}

/** Column of the '-' of a block sequence item and of its content. */
function itemLayout(text: string, item: Node): { dash: number; dashCol: number; contentCol: number } | undefined {
  const start = item.range?.[0];
  if (start === undefined) return undefined;
  let i = start - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  if (text[i] !== '-') return undefined;
  const dashCol = i - lineStart(text, i);
  return { dash: i, dashCol, contentCol: start - lineStart(text, start) };
}

/** Indentation step used inside entries (e.g. under `target:`), 2 unless the file shows otherwise. */
function indentUnit(text: string, seq: YAMLSeq): number {
  for (const item of seq.items) {
    if (!isMap(item)) continue;
    for (const pair of item.items) {
      const key = pair.key as Node | null;
      const val = pair.value as Node | null;
      if (isMap(val) && !val.flow && key?.range && val.range) {
        const unit = val.range[0] - lineStart(text, val.range[0]) - (key.range[0] - lineStart(text, key.range[0]));
        if (unit > 0 && unit <= 8) return unit;
      }
    }
  }
  return 2;
}

function yamlString(s: string): string {
  const plain =
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(s) &&
    !/^(true|false|null|yes|no|on|off|y|n|~|[-+]?[0-9._]+([eE][-+]?[0-9]+)?)$/i.test(s);
  return plain ? s : JSON.stringify(s);
}

/** The lines of one entry; the first starts with '- ' at dashCol. */
function entryLines(p: OurPatch, layout: SeqLayout): string[] {
  const c = ' '.repeat(layout.contentCol);
  const cu = ' '.repeat(layout.contentCol + layout.unit);
  const lines = [`${' '.repeat(layout.dashCol)}- patch: |-`];
  for (const l of p.text.split('\n')) lines.push(l === '' ? '' : cu + l);
  lines.push(`${c}target:`);
  for (const key of ['group', 'version', 'kind', 'name', 'namespace'] as const) {
    const v = p.target[key];
    if (v !== undefined) lines.push(`${cu}${key}: ${yamlString(v)}`);
  }
  return lines;
}

type Replacement = { entry: PatchEntry; patch: OurPatch };

function spliceEdit(
  k: KustomizationFile,
  replace: Replacement[],
  remove: PatchEntry[],
  add: OurPatch[],
): string | undefined {
  const root = rootMap(k);
  if (!root) return undefined;
  const pair = patchesPair(root);
  const seq = pair?.value;
  if (isSeq(seq) && !seq.flow && seq.items.length > 0) return spliceIntoList(k, seq, replace, remove, add);
  if (replace.length > 0 || remove.length > 0) return undefined;
  return spliceNewList(k, root, pair, add);
}

/** Edits an existing block `patches` list: entries replaced in place, removed, appended. */
function spliceIntoList(
  k: KustomizationFile,
  seq: YAMLSeq,
  replace: Replacement[],
  remove: PatchEntry[],
  add: OurPatch[],
): string | undefined {
  const { text, eol } = k;
  const edits: Edit[] = [];
  const items = seq.items as Node[];
  const first = itemLayout(text, items[0]);
  if (!first) return undefined;
  const layout: SeqLayout = { dashCol: first.dashCol, contentCol: first.contentCol, unit: indentUnit(text, seq) };
  const itemEnd = (n: Node) => afterLine(text, n.range?.[1] ?? 0);
  for (const r of replace) {
    const node = items[r.entry.index];
    const l = itemLayout(text, node);
    if (!l || !node.range) return undefined;
    const lines = entryLines(r.patch, { ...layout, dashCol: l.dashCol, contentCol: l.contentCol });
    const end = itemEnd(node);
    // Keep the original "- " and write the entry's content after it.
    const body = lines.join(eol).slice(l.dashCol + 2);
    edits.push({ start: node.range[0], end, text: body + (text[end - 1] === '\n' ? eol : '') });
  }
  for (const e of remove) {
    const node = items[e.index];
    const l = itemLayout(text, node);
    if (!l) return undefined;
    edits.push({ start: lineStart(text, l.dash), end: itemEnd(node), text: '' });
  }
  if (add.length > 0) {
    const at = itemEnd(items[items.length - 1]);
    const block = add.flatMap((p) => entryLines(p, layout)).join(eol);
    edits.push(
      text[at - 1] === '\n' ? { start: at, end: at, text: block + eol } : { start: at, end: at, text: eol + block },
    );
  }
  return applyEdits(text, edits);
}

/** Adds our entries where there is no block `patches` list yet, copying the style of `resources`. */
function spliceNewList(
  k: KustomizationFile,
  root: YAMLMap,
  pair: Pair | undefined,
  add: OurPatch[],
): string | undefined {
  const { text, eol } = k;
  const res = root.items.find((p) => isScalar(p.key) && p.key.value === 'resources');
  const resSeq = res?.value;
  let dashCol = 0;
  if (isSeq(resSeq) && !resSeq.flow && resSeq.items.length > 0 && isScalar(res?.key) && res.key.range) {
    const l = itemLayout(text, resSeq.items[0] as Node);
    if (l) dashCol = Math.max(0, l.dashCol - (res.key.range[0] - lineStart(text, res.key.range[0])));
  }
  const layout: SeqLayout = { dashCol, contentCol: dashCol + 2, unit: 2 };
  const block = add.flatMap((p) => entryLines(p, layout)).join(eol);

  if (pair) {
    // `patches:` with no value, `patches: ~`, or `patches: []`.
    const key = pair.key as Scalar;
    const value = pair.value as Node | null;
    const emptyValue =
      value === null || (isScalar(value) && value.value === null) || (isSeq(value) && value.items.length === 0);
    if (!emptyValue || !key.range || lineStart(text, key.range[0]) !== key.range[0]) return undefined;
    const colon = text.indexOf(':', key.range[1]);
    const valueEnd = value?.range ? value.range[1] : colon + 1;
    const rest = text.slice(colon + 1, valueEnd);
    if (rest.includes('\n') && rest.trim() !== '') return undefined;
    return applyEdits(text, [{ start: colon + 1, end: Math.max(colon + 1, valueEnd), text: eol + block }]);
  }

  // Append `patches:` at the end of the root mapping (which is the end of the document).
  const firstKey = root.items[0]?.key as Node | undefined;
  const keyCol = firstKey?.range ? firstKey.range[0] - lineStart(text, firstKey.range[0]) : 0;
  if (keyCol !== 0 || /^\.\.\.\s*$/m.test(text) || /^---/m.test(text.slice(1))) return undefined;
  const endsWithNewline = text.endsWith('\n');
  const insertion = `patches:${eol}${block}`;
  return text + (text === '' || endsWithNewline ? insertion + eol : eol + insertion);
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start || b.end - a.end)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out;
}

// --- Document serialisation (fallback) --------------------------------------------------------

function serialiseEdit(
  k: KustomizationFile,
  replace: { entry: PatchEntry; patch: OurPatch }[],
  remove: PatchEntry[],
  add: OurPatch[],
): string {
  const doc = k.doc.clone();
  const node = (p: OurPatch) => {
    const n = doc.createNode(entryValue(p)) as YAMLMap;
    const scalar = n.get('patch', true) as Scalar;
    scalar.type = Scalar.BLOCK_LITERAL;
    return n;
  };
  let seq = doc.get('patches', true);
  if (!isSeq(seq)) {
    seq = doc.createNode([]) as YAMLSeq;
    doc.set('patches', seq);
  }
  const items = (seq as YAMLSeq).items;
  for (const r of replace) items[r.entry.index] = node(r.patch);
  const removed = new Set(remove.map((e) => e.index));
  (seq as YAMLSeq).items = items.filter((_, i) => !removed.has(i));
  for (const p of add) (seq as YAMLSeq).items.push(node(p));
  (seq as YAMLSeq).flow = false;
  const indentSeq = !/^[A-Za-z_][\w-]*:\s*\r?\n- /m.test(k.text);
  const out = doc.toString({ lineWidth: 0, indentSeq });
  return k.eol === '\r\n' ? out.replace(/\r?\n/g, '\r\n') : out;
}
