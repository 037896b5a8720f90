/**
 * Compile time, as Azure Pipelines does it before a run starts
 * (https://learn.microsoft.com/azure/devops/pipelines/process/templates,
 * .../process/template-expressions, .../process/runtime-parameters, and the "expansion order" of
 * .../process/variables): the YAML is read as text scalars (the schema gives them types), runtime
 * parameters are bound, `- template:` references for steps, jobs, stages and variables are
 * replaced by their files' content with their typed parameters, and every `${{ }}` is evaluated:
 * values, `${{ if }}` / `${{ elseif }}` / `${{ else }}`, `${{ each }}` and `${{ insert }}` in
 * mappings and sequences. Macros `$( )` and runtime expressions `$[ ]` are left for run time.
 * The result is the plain pipeline tree pipeline-model.ts reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import {
  evaluateValue,
  ExpressionError,
  isObject,
  toStringOrUndefined,
  toText,
  truthy,
  type ExpressionContext,
  type Value,
} from './expressions';
import { ORIGINS, PipelineError } from './pipeline-model';
import { bindParameters, ITEM_KIND, LIST_KIND, parseDeclarations, type ParameterDecl } from './template-parameters';

type Obj = { [key: string]: Value };
type ListKind = 'steps' | 'jobs' | 'stages' | 'variables';
const LIST_KINDS: ListKind[] = ['steps', 'jobs', 'stages', 'variables'];
/** Azure Pipelines stops at 100 levels of template nesting. */
const MAX_DEPTH = 100;

interface Scope {
  file: string;
  /** The file as messages name it (relative to the pipeline's folder). */
  label: string;
  parameters: Obj;
  variables: Obj;
  locals: Obj;
  depth: number;
  repoRoot: string;
}

export interface CompileOptions {
  /** The pipeline file (templates are found relative to it). */
  file: string;
  /** Its text (read from `file` when absent). */
  text?: string;
  /** Runtime parameter values given when the run is queued (`--param name=value`). */
  parameters?: Record<string, string>;
  /** Variables known at compile time besides the YAML's (predefined, queue-time). */
  variables?: Record<string, string>;
}

export interface Compiled {
  tree: Obj;
  parameters: Obj;
}

const fail = (where: string, message: string): never => {
  throw new PipelineError(`${where}: ${message}`);
};

/** YAML text -> tree of strings (Azure Pipelines reads scalars as text and types them by schema). */
export function readYaml(text: string, label: string): Value {
  const docs = YAML.parseAllDocuments(text, { schema: 'failsafe' });
  if (!Array.isArray(docs) || docs.length !== 1) fail(label, 'expected exactly one YAML document');
  const doc = (docs as YAML.Document[])[0];
  if (doc.errors.length) fail(label, `invalid YAML: ${doc.errors[0].message}`);
  // Azure Pipelines refuses YAML anchors (microsoft/azure-pipelines-yaml#187); so does the runner.
  YAML.visit(doc, (_key, node) => {
    const anchor = YAML.isNode(node) ? node.anchor : undefined;
    if (anchor) fail(label, `Anchors are not currently supported. Remove the anchor '${anchor}'`);
  });
  return (doc.toJS() ?? '') as Value;
}

// ---------- `${{ }}` in scalars ----------

type Segment = { text: string } | { expr: string };

/** Splits a scalar into text and `${{ expr }}` parts (a `}}` inside a quoted string does not end it). */
function segments(s: string, where: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < s.length) {
    const start = s.indexOf('${{', i);
    if (start < 0) break;
    if (start > i) out.push({ text: s.slice(i, start) });
    let j = start + 3;
    let quoted = false;
    for (; j < s.length; j++) {
      if (s[j] === "'") quoted = !quoted;
      else if (!quoted && s.startsWith('}}', j)) break;
    }
    if (j >= s.length) fail(where, `'${s}': the template expression is not closed with }}`);
    out.push({ expr: s.slice(start + 3, j) });
    i = j + 2;
  }
  if (i < s.length) out.push({ text: s.slice(i) });
  return out;
}

function context(scope: Scope): ExpressionContext {
  return {
    mode: 'template',
    roots: { parameters: scope.parameters, variables: scope.variables, ...scope.locals },
  };
}

function evaluateAt(src: string, scope: Scope, where: string): Value {
  try {
    return evaluateValue(src, context(scope));
  } catch (e) {
    if (e instanceof ExpressionError) fail(where, `\${{${src}}}: ${e.message}`);
    throw e;
  }
}

/** A scalar with `${{ }}`: one whole expression keeps its type (a list, an object); otherwise text. */
function expandScalar(s: string, scope: Scope, where: string): Value {
  if (!s.includes('${{')) return s;
  const parts = segments(s, where);
  const exprs = parts.filter((p) => 'expr' in p);
  if (exprs.length === 1 && parts.every((p) => 'expr' in p || p.text.trim() === ''))
    return evaluateAt((exprs[0] as { expr: string }).expr, scope, where);
  return parts
    .map((p) => {
      if ('text' in p) return p.text;
      const v = evaluateAt(p.expr, scope, where);
      const text = toStringOrUndefined(v);
      if (text === undefined)
        fail(where, `\${{${p.expr}}} is ${Array.isArray(v) ? 'a list' : 'an object'}: it cannot be part of a text`);
      return text;
    })
    .join('');
}

// ---------- directives ----------

type Directive =
  { kind: 'if' | 'elseif'; expr: string } | { kind: 'else' | 'insert' } | { kind: 'each'; name: string; expr: string };

function directive(key: string, where: string): Directive | undefined {
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(key);
  if (!m) return undefined;
  const body = m[1].trim();
  const word = /^(if|elseif|else|each|insert)\b/.exec(body)?.[1];
  if (!word) return undefined;
  const rest = body.slice(word.length).trim();
  if (word === 'else' || word === 'insert') {
    if (rest) fail(where, `\${{ ${word} }} takes no expression`);
    return { kind: word };
  }
  if (word === 'each') {
    const e = /^([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([\s\S]+)$/.exec(rest);
    if (!e) fail(where, `expected \${{ each <name> in <expression> }}, got '${key}'`);
    return { kind: 'each', name: e![1], expr: e![2] };
  }
  if (!rest) fail(where, `\${{ ${word} }} needs a condition`);
  return { kind: word as 'if' | 'elseif', expr: rest };
}

/** The items `${{ each }}` walks: a list's items, or a mapping's {key, value} pairs. */
function eachItems(v: Value, where: string): Value[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.entries(v).map(([key, value]) => ({ key, value }));
  if (v === null || v === '') return [];
  return fail(where, `\${{ each }} needs a list or a mapping, got ${JSON.stringify(v)}`);
}

/** if/elseif/else chains: whether this branch is taken, updating the chain state. */
class Chain {
  private state: 'none' | 'open' | 'taken' = 'none';
  take(d: Directive, scope: Scope, where: string): boolean {
    if (d.kind === 'if') {
      const yes = truthy(evaluateAt(d.expr, scope, where));
      this.state = yes ? 'taken' : 'open';
      return yes;
    }
    if (this.state === 'none') fail(where, `\${{ ${d.kind} }} must follow \${{ if }} or \${{ elseif }}`);
    if (d.kind === 'else') {
      const yes = this.state === 'open';
      this.state = 'none';
      return yes;
    }
    if (this.state === 'taken') return false;
    const yes = truthy(evaluateAt((d as { expr: string }).expr, scope, where));
    if (yes) this.state = 'taken';
    return yes;
  }
  reset(): void {
    this.state = 'none';
  }
}

// ---------- the tree ----------

function expandNode(v: Value, scope: Scope, where: string, kind?: ListKind): Value {
  if (typeof v === 'string') return expandScalar(v, scope, where);
  if (Array.isArray(v)) return expandSequence(v, scope, where, kind);
  if (isObject(v)) return expandMapping(v, scope, where);
  return v;
}

const withLocal = (scope: Scope, name: string, value: Value): Scope => ({
  ...scope,
  locals: { ...scope.locals, [name]: value },
});

function mergeInto(out: Obj, v: Value, where: string): void {
  if (v === null || v === '') return;
  if (!isObject(v)) fail(where, 'a conditional or inserted block inside a mapping must hold a mapping');
  Object.assign(out, v);
}

function expandMapping(obj: Obj, scope: Scope, where: string): Obj {
  const out: Obj = {};
  const chain = new Chain();
  // Variables first: the mapping's own static variables are visible to its ${{ variables.x }}.
  const vars = 'variables' in obj ? expandNode(obj.variables, scope, `${where}.variables`, 'variables') : undefined;
  const inner = vars === undefined ? scope : { ...scope, variables: { ...scope.variables, ...staticVariables(vars) } };
  for (const [key, value] of Object.entries(obj)) {
    const at = `${where}.${key}`;
    const d = directive(key, at);
    if (!d) {
      chain.reset();
      const name = expandScalar(key, inner, at);
      const k = toStringOrUndefined(name) ?? fail(at, 'a mapping key must be text');
      out[k] = key === 'variables' ? vars! : expandNode(value, inner, `${where}.${k}`, kindOf(k));
      continue;
    }
    if (d.kind === 'each') {
      chain.reset();
      for (const item of eachItems(evaluateAt(d.expr, inner, at), at)) {
        if (!isObject(value)) fail(at, '${{ each }} inside a mapping must hold a mapping');
        mergeInto(out, expandMapping(value as Obj, withLocal(inner, d.name, item), at), at);
      }
    } else if (d.kind === 'insert') {
      chain.reset();
      mergeInto(out, expandNode(value, inner, at), at);
    } else if (chain.take(d, inner, at)) mergeInto(out, expandNode(value, inner, at), at);
  }
  ORIGINS.set(out, where);
  return out;
}

const kindOf = (key: string): ListKind | undefined => (LIST_KINDS as string[]).find((k) => k === key) as ListKind;

function expandSequence(items: Value[], scope: Scope, where: string, kind?: ListKind): Value[] {
  const out: Value[] = [];
  const chain = new Chain();
  const push = (v: Value, spliced: boolean): void => {
    if (spliced && Array.isArray(v)) out.push(...v);
    else out.push(v);
  };
  items.forEach((item, i) => {
    const at = `${where}[${i}]`;
    const keys = isObject(item) ? Object.keys(item) : [];
    const d = keys.length === 1 ? directive(keys[0], at) : undefined;
    if (d) {
      const body = (item as Obj)[keys[0]];
      const list = Array.isArray(body) ? body : [body];
      if (d.kind === 'each') {
        chain.reset();
        for (const x of eachItems(evaluateAt(d.expr, scope, at), at))
          out.push(...expandSequence(list, withLocal(scope, d.name, x), at, kind));
      } else if (d.kind === 'insert') fail(at, '${{ insert }} belongs in a mapping');
      else if (chain.take(d, scope, at)) out.push(...expandSequence(list, scope, at, kind));
      return;
    }
    chain.reset();
    if (kind && isObject(item) && 'template' in item) {
      out.push(...expandTemplateRef(item, scope, at, kind));
      return;
    }
    const whole = typeof item === 'string' && /^\s*\$\{\{[\s\S]*\}\}\s*$/.test(item);
    push(expandNode(item, scope, at, kind), whole);
  });
  return out;
}

/** name -> value of the variables a block declares with literal values (map or list form). */
function staticVariables(v: Value): Obj {
  const out: Obj = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) out[k] = toStringOrUndefined(x) ?? '';
  if (Array.isArray(v))
    for (const item of v)
      if (isObject(item) && typeof item.name === 'string') out[item.name] = toStringOrUndefined(item.value) ?? '';
  return out;
}

// ---------- templates ----------

function resolveTemplate(ref: string, scope: Scope, where: string): string {
  if (ref.includes('@'))
    fail(
      where,
      `'${ref}': templates from other repositories (resources.repositories) are not supported by the local pipeline runner`,
    );
  const file = ref.startsWith('/') ? path.join(scope.repoRoot, ref) : path.resolve(path.dirname(scope.file), ref);
  if (!fs.existsSync(file)) fail(where, `template '${ref}' was not found (looked for ${file})`);
  return file;
}

/** The given parameters, expanded in the caller's scope; list types expand their own template references. */
function givenParameters(raw: Value, decls: ParameterDecl[], scope: Scope, where: string): Obj {
  if (raw === undefined || raw === null || raw === '') return {};
  if (!isObject(raw)) fail(where, 'expected a mapping of parameter values');
  const out: Obj = {};
  for (const [key, value] of Object.entries(raw as Obj)) {
    const decl = decls.find((d) => d.name === key);
    const at = `${where}.${key}`;
    const listKind = decl && LIST_KIND[decl.type];
    const itemKind = decl && ITEM_KIND[decl.type];
    if (listKind && Array.isArray(value)) out[key] = expandSequence(value, scope, at, listKind);
    else if (itemKind && isObject(value) && 'template' in value) {
      const items = expandTemplateRef(value, scope, at, itemKind);
      out[key] = items.length === 1 ? items[0] : items;
    } else out[key] = expandNode(value, scope, at);
  }
  return out;
}

function expandTemplateRef(item: Obj, scope: Scope, where: string, kind: ListKind): Value[] {
  for (const k of Object.keys(item))
    if (k !== 'template' && k !== 'parameters')
      fail(`${where}.${k}`, `a template reference takes template and parameters only, not '${k}'`);
  const ref = toText(expandNode(item.template, scope, `${where}.template`));
  if (scope.depth + 1 > MAX_DEPTH)
    fail(where, `templates are nested more than ${MAX_DEPTH} levels deep (does '${ref}' include itself?)`);
  const file = resolveTemplate(ref, scope, `${where}.template`);
  const label = path.relative(scope.repoRoot, file);
  const root = readYaml(fs.readFileSync(file, 'utf8'), label);
  if (!isObject(root)) fail(label, 'a template must be a mapping');
  const body = Object.keys(root as Obj).filter((k) => k !== 'parameters');
  if (!(kind in (root as Obj)))
    fail(
      label,
      `used as a ${kind} template at ${where}, so it must have ${kind}: at the top level (it has ${body.join(', ') || 'nothing'})`,
    );
  for (const k of body) if (k !== kind) fail(`${label}.${k}`, `a ${kind} template holds parameters and ${kind} only`);
  const decls = parseDeclarations((root as Obj).parameters, `${label}.parameters`);
  const given = givenParameters(item.parameters, decls, scope, `${where}.parameters`);
  const inner: Scope = { ...scope, file, label, locals: {}, depth: scope.depth + 1, parameters: {} };
  const parameters = bindParameters(defaultsExpanded(decls, inner), given, `${label} (used at ${where})`);
  const content = (root as Obj)[kind];
  if (!Array.isArray(content)) fail(`${label}.${kind}`, `expected a list of ${kind}`);
  return expandSequence(content as Value[], { ...inner, parameters }, `${label}.${kind}`, kind);
}

/** Defaults of list-typed parameters may hold template references of their own. */
function defaultsExpanded(decls: ParameterDecl[], scope: Scope): ParameterDecl[] {
  return decls.map((d) => {
    const kind = LIST_KIND[d.type];
    return kind && Array.isArray(d.default)
      ? { ...d, default: expandSequence(d.default, scope, `${d.path}.default`, kind) }
      : d;
  });
}

// ---------- the pipeline ----------

function repoRootOf(file: string): string {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(path.resolve(file));
  }
}

/** Runtime parameters from the command line: text, read as YAML for object and list types. */
function queuedParameters(decls: ParameterDecl[], given: Record<string, string>, label: string): Obj {
  const out: Obj = {};
  for (const [name, text] of Object.entries(given)) {
    const decl = decls.find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (!decl)
      fail(
        `--param ${name}`,
        `Unexpected parameter '${name}': ${label} declares ${decls.map((d) => d.name).join(', ') || 'no parameters'}`,
      );
    const structured = !['string', 'number', 'boolean'].includes(decl!.type);
    out[decl!.name] = structured ? readYaml(text, `--param ${name}`) : text;
  }
  return out;
}

function extendsTemplate(root: Obj, scope: Scope, label: string): Obj {
  const ext = root.extends;
  if (!isObject(ext)) fail(`${label}.extends`, 'expected { template, parameters }');
  const { extends: _ignored, ...rest } = root;
  const item = ext as Obj;
  const ref = toText(expandNode(item.template, scope, `${label}.extends.template`));
  const file = resolveTemplate(ref, scope, `${label}.extends.template`);
  const tlabel = path.relative(scope.repoRoot, file);
  const troot = readYaml(fs.readFileSync(file, 'utf8'), tlabel);
  if (!isObject(troot)) fail(tlabel, 'a template must be a mapping');
  const decls = parseDeclarations((troot as Obj).parameters, `${tlabel}.parameters`);
  const given = givenParameters(item.parameters, decls, scope, `${label}.extends.parameters`);
  const inner: Scope = { ...scope, file, label: tlabel, locals: {}, depth: 1, parameters: {} };
  const parameters = bindParameters(defaultsExpanded(decls, inner), given, `${tlabel} (extended by ${label})`);
  const { parameters: _decl, ...body } = troot as Obj;
  return { ...expandMapping(rest, scope, label), ...expandMapping(body, { ...inner, parameters }, tlabel) };
}

/** The pipeline after compile time: templates in place, `${{ }}` evaluated, parameters bound. */
export function compilePipeline(opts: CompileOptions): Compiled {
  const file = path.resolve(opts.file);
  const label = path.basename(file);
  const root = readYaml(opts.text ?? fs.readFileSync(file, 'utf8'), label);
  if (!isObject(root)) fail(label, 'expected a mapping at the top level');
  const decls = parseDeclarations((root as Obj).parameters, `${label}.parameters`);
  const parameters = bindParameters(decls, queuedParameters(decls, opts.parameters ?? {}, label), label);
  const scope: Scope = {
    file,
    label,
    parameters,
    variables: { ...(opts.variables ?? {}) },
    locals: {},
    depth: 0,
    repoRoot: repoRootOf(file),
  };
  const { parameters: _decls, ...body } = root as Obj;
  const tree = 'extends' in body ? extendsTemplate(body, scope, label) : expandMapping(body, scope, label);
  return { tree, parameters };
}
