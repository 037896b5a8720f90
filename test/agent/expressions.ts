/**
 * Azure Pipelines expressions, one engine for both kinds
 * (https://learn.microsoft.com/azure/devops/pipelines/process/expressions):
 * - template expressions `${{ }}` (mode 'template'): evaluated at compile time over `parameters`,
 *   statically defined `variables` and `${{ each }}` loop names; job status functions and
 *   `counter` do not exist there;
 * - runtime expressions (mode 'runtime'): `condition:` and `$[ ]` values, over `variables`,
 *   `dependencies`, `stageDependencies`, with the job status functions and `counter`.
 * Literals ('string' with '' escaping, numbers, true/false, null), property access
 * (`a.b`, `a['b']`, `list[0]`) and the documented functions (expression-functions.ts). Types
 * convert as the "Type casting" table of the doc says. Anything else is an error that names the
 * expression: an expression silently read the wrong way would make a test lie.
 */
import { callFunction } from './expression-functions';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export type Node =
  | { type: 'literal'; value: Value }
  | { type: 'name'; name: string }
  | { type: 'member'; object: Node; key: string }
  | { type: 'index'; object: Node; index: Node }
  | { type: 'call'; name: string; args: Node[] };

export type StatusFunction = 'succeeded' | 'failed' | 'succeededOrFailed' | 'always' | 'canceled';

export interface ExpressionContext {
  /** 'runtime' (default): conditions and `$[ ]`; 'template': `${{ }}` at compile time. */
  mode?: 'runtime' | 'template';
  /** Runtime `variables['x']` / `variables.x` (names are case-insensitive). */
  variable?(name: string): string | undefined;
  /** succeeded / failed / succeededOrFailed / always / canceled, with optional dependency names. */
  status?(fn: StatusFunction, args: string[]): boolean;
  /** Other named roots: `dependencies`, `stageDependencies`, `parameters`, `variables` (template), loop names. */
  roots?: Record<string, Value>;
  /** Runtime `counter(prefix, seed)`. */
  counter?(prefix: string, seed: number): number;
}

export class ExpressionError extends Error {}

// ---------- tokenizer ----------
type Token = { t: 'str' | 'num' | 'id' | 'punct'; v: string; pos: number };

function readString(src: string, i: number): { value: string; end: number } {
  let s = '';
  let j = i + 1;
  for (;;) {
    if (j >= src.length) throw new ExpressionError(`unterminated string starting at ${i}`);
    if (src[j] === "'") {
      if (src[j + 1] === "'") {
        s += "'";
        j += 2;
        continue;
      }
      return { value: s, end: j + 1 };
    }
    s += src[j++];
  }
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      const { value, end } = readString(src, i);
      out.push({ t: 'str', v: value, pos: i });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0], pos: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0], pos: i });
      i += m[0].length;
    } else if ('(),.[]'.includes(c)) {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
    } else {
      throw new ExpressionError(`unexpected character '${c}' at ${i}`);
    }
  }
  return out;
}

// ---------- parser ----------
export function parseExpression(src: string): Node {
  const tokens = tokenize(src);
  let p = 0;
  const peek = (): Token | undefined => tokens[p];
  const isPunct = (v: string): boolean => peek()?.t === 'punct' && peek()?.v === v;
  const expect = (v: string): void => {
    const t = tokens[p];
    if (!t || t.t !== 'punct' || t.v !== v) throw new ExpressionError(`expected '${v}' at ${t ? t.pos : 'end'}`);
    p++;
  };
  const callArgs = (): Node[] => {
    const args: Node[] = [];
    if (isPunct(')')) return args;
    for (;;) {
      args.push(expr());
      if (!isPunct(',')) return args;
      p++;
    }
  };
  const primary = (): Node => {
    const t = tokens[p++];
    if (!t) throw new ExpressionError('unexpected end of expression');
    if (t.t === 'str') return { type: 'literal', value: t.v };
    if (t.t === 'num') return { type: 'literal', value: Number(t.v) };
    if (t.t !== 'id') throw new ExpressionError(`unexpected '${t.v}' at ${t.pos}`);
    if (isPunct('(')) {
      p++;
      const args = callArgs();
      expect(')');
      return { type: 'call', name: t.v, args };
    }
    const lower = t.v.toLowerCase();
    if (lower === 'true') return { type: 'literal', value: true };
    if (lower === 'false') return { type: 'literal', value: false };
    if (lower === 'null') return { type: 'literal', value: null };
    return { type: 'name', name: t.v };
  };
  const expr = (): Node => {
    let node = primary();
    for (;;) {
      const t = peek();
      if (t?.t === 'punct' && t.v === '.') {
        p++;
        const key = tokens[p++];
        if (!key || (key.t !== 'id' && key.t !== 'num'))
          throw new ExpressionError(`expected a property name after '.' at ${t.pos}`);
        node = { type: 'member', object: node, key: key.v };
      } else if (t?.t === 'punct' && t.v === '[') {
        p++;
        const index = expr();
        expect(']');
        node = { type: 'index', object: node, index };
      } else return node;
    }
  };
  const root = expr();
  if (p < tokens.length) throw new ExpressionError(`unexpected '${tokens[p].v}' at ${tokens[p].pos}`);
  return root;
}

// ---------- type casting (the doc's "Type casting" table) ----------
export const isObject = (v: Value): v is { [key: string]: Value } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v.length > 0;
  return true;
}

/** String conversion; undefined when the value has none (arrays and objects). */
export function toStringOrUndefined(v: Value): string | undefined {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  return undefined;
}

export function toText(v: Value, what = 'the value'): string {
  const s = toStringOrUndefined(v);
  if (s === undefined)
    throw new ExpressionError(`Unable to convert from ${Array.isArray(v) ? 'Array' : 'Object'} to String (${what})`);
  return s;
}

export function toNumber(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? 0 : /^\s*[-+]?(\d+\.?\d*|\.\d+)\s*$/.test(v) ? Number(v) : NaN;
  return NaN;
}

/** eq: the right side is converted to the left side's type; false when it cannot be. Strings: ordinal, ignoring case. */
export function equal(a: Value, b: Value): boolean {
  if (typeof a === 'number') return a === toNumber(b);
  if (typeof a === 'boolean') return a === truthy(b);
  if (typeof a === 'string') {
    const s = toStringOrUndefined(b);
    return s !== undefined && a.toLowerCase() === s.toLowerCase();
  }
  if (a === null) return b === null || b === '';
  return a === b;
}

/** gt/ge/lt/le: the right side is converted to the left side's type; an error when it cannot be. */
export function compare(a: Value, b: Value, fn: string): number {
  if (typeof a === 'number' || typeof a === 'boolean' || a === null) {
    const na = toNumber(a);
    const nb = toNumber(b);
    if (Number.isNaN(nb)) throw new ExpressionError(`${fn}(): cannot convert ${JSON.stringify(b)} to a number`);
    return na - nb;
  }
  if (typeof a === 'string') {
    const s = toStringOrUndefined(b);
    if (s === undefined) throw new ExpressionError(`${fn}(): cannot compare a string with an array or object`);
    const x = a.toLowerCase();
    const y = s.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw new ExpressionError(`${fn}(): arrays and objects cannot be compared`);
}

// ---------- evaluation ----------
const VARIABLES = Symbol('variables');
type Ref = Value | typeof VARIABLES;

function lookup(obj: Value, key: string): Value {
  if (Array.isArray(obj)) {
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < obj.length ? obj[i] : null;
  }
  if (!isObject(obj)) return null;
  if (key in obj) return obj[key];
  const hit = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  return hit === undefined ? null : obj[hit];
}

function resolveName(name: string, ctx: ExpressionContext): Ref {
  const lower = name.toLowerCase();
  const roots = ctx.roots ?? {};
  const root = Object.keys(roots).find((k) => k.toLowerCase() === lower);
  if (root !== undefined) return roots[root];
  if (lower === 'variables' && ctx.variable) return VARIABLES;
  const known = [...(ctx.variable ? ['variables'] : []), ...Object.keys(roots)];
  throw new ExpressionError(`Unrecognized value: '${name}' (available here: ${known.join(', ') || 'none'})`);
}

function evaluateRef(node: Node, ctx: ExpressionContext): Ref {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'name':
      return resolveName(node.name, ctx);
    case 'member':
    case 'index': {
      const object = evaluateRef(node.object, ctx);
      const keyValue = node.type === 'member' ? node.key : evaluate(node.index, ctx);
      const key = toText(keyValue, 'an index');
      if (object === VARIABLES) return ctx.variable!(key) ?? null;
      return lookup(object, key);
    }
    case 'call':
      return callFunction(node, ctx);
  }
}

export function evaluate(node: Node, ctx: ExpressionContext): Value {
  const v = evaluateRef(node, ctx);
  if (v === VARIABLES)
    throw new ExpressionError("'variables' must be followed by a name: variables['x'] or variables.x");
  return v;
}

/** Evaluates an expression to a typed value. */
export function evaluateValue(src: string, ctx: ExpressionContext): Value {
  return evaluate(parseExpression(src), ctx);
}

/** Evaluates an expression to text (for `$[ ... ]`): booleans as True/False, objects as JSON. */
export function evaluateExpression(src: string, ctx: ExpressionContext): string {
  const v = evaluateValue(src, ctx);
  return toStringOrUndefined(v) ?? JSON.stringify(v, null, 2);
}

/** Evaluates a condition to true/false. */
export function evaluateCondition(src: string, ctx: ExpressionContext): boolean {
  return truthy(evaluateValue(src, ctx));
}

export type { Value as ExpressionValue };
