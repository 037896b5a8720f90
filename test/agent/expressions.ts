/**
 * Azure Pipelines runtime expressions, as far as the local runner uses them: step/job/stage
 * `condition:` and `$[ ... ]` variable values. Literals ('string' with '' escaping, numbers,
 * true/false, null), property access (`variables['x']`, `variables.x`,
 * `dependencies.J.outputs['step.var']`, `dependencies.J.result`,
 * `stageDependencies.S.J.outputs['step.var']`) and the functions below. Anything else is an
 * error that names the expression: a condition silently read the wrong way would make a test lie.
 */

type Value = string | number | boolean | null | { [key: string]: Value };

type Node =
  | { type: 'literal'; value: Value }
  | { type: 'name'; name: string }
  | { type: 'member'; object: Node; key: string }
  | { type: 'index'; object: Node; index: Node }
  | { type: 'call'; name: string; args: Node[] };

export interface ExpressionContext {
  /** `variables['x']` / `variables.x` (names are case-insensitive). */
  variable(name: string): string | undefined;
  /** succeeded / failed / succeededOrFailed / always / canceled, with optional dependency names. */
  status(fn: 'succeeded' | 'failed' | 'succeededOrFailed' | 'always' | 'canceled', args: string[]): boolean;
  /** Other named roots: `dependencies`, `stageDependencies`; missing means "not available here". */
  roots?: Record<string, Value>;
}

export class ExpressionError extends Error {}

// ---------- tokenizer ----------
type Token = { t: 'str' | 'num' | 'id' | 'punct'; v: string; pos: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
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
          break;
        }
        s += src[j++];
      }
      out.push({ t: 'str', v: s, pos: i });
      i = j + 1;
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
function parse(src: string): Node {
  const tokens = tokenize(src);
  let p = 0;
  const peek = (): Token | undefined => tokens[p];
  const expect = (v: string): void => {
    const t = tokens[p];
    if (!t || t.t !== 'punct' || t.v !== v) throw new ExpressionError(`expected '${v}' at ${t ? t.pos : 'end'}`);
    p++;
  };
  const primary = (): Node => {
    const t = tokens[p++];
    if (!t) throw new ExpressionError('unexpected end of expression');
    if (t.t === 'str') return { type: 'literal', value: t.v };
    if (t.t === 'num') return { type: 'literal', value: Number(t.v) };
    if (t.t === 'id') {
      const lower = t.v.toLowerCase();
      const next = peek();
      if (next?.t === 'punct' && next.v === '(') {
        p++;
        const args: Node[] = [];
        if (!(peek()?.t === 'punct' && peek()?.v === ')')) {
          for (;;) {
            args.push(expr());
            if (peek()?.t === 'punct' && peek()?.v === ',') {
              p++;
              continue;
            }
            break;
          }
        }
        expect(')');
        return { type: 'call', name: t.v, args };
      }
      if (lower === 'true') return { type: 'literal', value: true };
      if (lower === 'false') return { type: 'literal', value: false };
      if (lower === 'null') return { type: 'literal', value: null };
      return { type: 'name', name: t.v };
    }
    throw new ExpressionError(`unexpected '${t.v}' at ${t.pos}`);
  };
  const expr = (): Node => {
    let node = primary();
    for (;;) {
      const t = peek();
      if (t?.t === 'punct' && t.v === '.') {
        p++;
        const key = tokens[p++];
        if (!key || key.t !== 'id') throw new ExpressionError(`expected a property name after '.' at ${t.pos}`);
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

// ---------- evaluation ----------
const STATUS = new Set(['succeeded', 'failed', 'succeededorfailed', 'always', 'canceled']);
const STATUS_NAMES: Record<string, 'succeeded' | 'failed' | 'succeededOrFailed' | 'always' | 'canceled'> = {
  succeeded: 'succeeded',
  failed: 'failed',
  succeededorfailed: 'succeededOrFailed',
  always: 'always',
  canceled: 'canceled',
};

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v.length > 0;
  return true;
}

function str(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'object') return '[object]';
  return String(v);
}

/** Equality as Azure Pipelines does it: numbers numerically, everything else case-insensitively as text. */
function equal(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'number' || typeof b === 'number') {
    const na = Number(a),
      nb = Number(b);
    if (!Number.isNaN(na) && !Number.isNaN(nb) && str(a) !== '' && str(b) !== '') return na === nb;
  }
  return str(a).toLowerCase() === str(b).toLowerCase();
}

function compare(a: Value, b: Value): number {
  const na = Number(a),
    nb = Number(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return str(a).toLowerCase().localeCompare(str(b).toLowerCase());
}

function lookup(obj: Value, key: string): Value {
  if (obj === null || typeof obj !== 'object') return null;
  const hit = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  return hit === undefined ? null : obj[hit];
}

function evaluate(node: Node, ctx: ExpressionContext): Value {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'name': {
      const lower = node.name.toLowerCase();
      if (lower === 'variables') return { __variables: true };
      const root = ctx.roots && Object.keys(ctx.roots).find((k) => k.toLowerCase() === lower);
      if (root !== undefined) return ctx.roots![root];
      throw new ExpressionError(
        `'${node.name}' is not available here (supported: variables${ctx.roots ? `, ${Object.keys(ctx.roots).join(', ')}` : ''})`,
      );
    }
    case 'member':
    case 'index': {
      const object = evaluate(node.object, ctx);
      const key = node.type === 'member' ? node.key : str(evaluate(node.index, ctx));
      if (object !== null && typeof object === 'object' && object.__variables === true)
        return ctx.variable(key) ?? null;
      return lookup(object, key);
    }
    case 'call':
      return call(node, ctx);
  }
}

function call(node: Extract<Node, { type: 'call' }>, ctx: ExpressionContext): Value {
  const name = node.name.toLowerCase();
  const arity = (min: number, max = min): void => {
    if (node.args.length < min || node.args.length > max) {
      throw new ExpressionError(
        `${node.name}() takes ${min === max ? min : `${min} to ${max === Infinity ? 'any number of' : max}`} argument(s), got ${node.args.length}`,
      );
    }
  };
  const arg = (i: number): Value => evaluate(node.args[i], ctx);
  if (STATUS.has(name)) {
    if (name === 'always' || name === 'canceled') arity(0);
    return ctx.status(
      STATUS_NAMES[name],
      node.args.map((_, i) => str(arg(i))),
    );
  }
  switch (name) {
    case 'and':
      arity(2, Infinity);
      return node.args.every((_, i) => truthy(arg(i)));
    case 'or':
      arity(2, Infinity);
      return node.args.some((_, i) => truthy(arg(i)));
    case 'not':
      arity(1);
      return !truthy(arg(0));
    case 'xor':
      arity(2);
      return truthy(arg(0)) !== truthy(arg(1));
    case 'eq':
      arity(2);
      return equal(arg(0), arg(1));
    case 'ne':
      arity(2);
      return !equal(arg(0), arg(1));
    case 'gt':
      arity(2);
      return compare(arg(0), arg(1)) > 0;
    case 'ge':
      arity(2);
      return compare(arg(0), arg(1)) >= 0;
    case 'lt':
      arity(2);
      return compare(arg(0), arg(1)) < 0;
    case 'le':
      arity(2);
      return compare(arg(0), arg(1)) <= 0;
    case 'in': {
      arity(2, Infinity);
      const v = arg(0);
      return node.args.slice(1).some((_, i) => equal(v, arg(i + 1)));
    }
    case 'notin': {
      arity(2, Infinity);
      const v = arg(0);
      return !node.args.slice(1).some((_, i) => equal(v, arg(i + 1)));
    }
    case 'contains':
      arity(2);
      return str(arg(0))
        .toLowerCase()
        .includes(str(arg(1)).toLowerCase());
    case 'startswith':
      arity(2);
      return str(arg(0))
        .toLowerCase()
        .startsWith(str(arg(1)).toLowerCase());
    case 'endswith':
      arity(2);
      return str(arg(0))
        .toLowerCase()
        .endsWith(str(arg(1)).toLowerCase());
    case 'lower':
      arity(1);
      return str(arg(0)).toLowerCase();
    case 'upper':
      arity(1);
      return str(arg(0)).toUpperCase();
    case 'length':
      arity(1);
      return str(arg(0)).length;
    case 'coalesce': {
      arity(1, Infinity);
      for (let i = 0; i < node.args.length; i++) {
        const v = arg(i);
        if (v !== null && v !== '') return v;
      }
      return null;
    }
    default:
      throw new ExpressionError(
        `function ${node.name}() is not supported by the local runner (supported: succeeded, failed, succeededOrFailed, always, canceled, and, or, not, xor, eq, ne, gt, ge, lt, le, in, notIn, contains, startsWith, endsWith, lower, upper, length, coalesce)`,
      );
  }
}

/** Evaluates an expression to a value (for `$[ ... ]`). */
export function evaluateExpression(src: string, ctx: ExpressionContext): string {
  const v = evaluate(parse(src), ctx);
  return typeof v === 'boolean' ? (v ? 'True' : 'False') : str(v);
}

/** Evaluates a condition to true/false. */
export function evaluateCondition(src: string, ctx: ExpressionContext): boolean {
  return truthy(evaluate(parse(src), ctx));
}

export type { Value as ExpressionValue };
