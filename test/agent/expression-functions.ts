/**
 * The functions of Azure Pipelines expressions, as the "Functions" and "Job status check
 * functions" sections of https://learn.microsoft.com/azure/devops/pipelines/process/expressions
 * describe them. Arguments are evaluated lazily so `and`/`or`/`iif` short-circuit as documented.
 */
import {
  compare,
  equal,
  evaluate,
  ExpressionError,
  isObject,
  toNumber,
  toStringOrUndefined,
  toText,
  truthy,
  type ExpressionContext,
  type Node,
  type StatusFunction,
  type Value,
} from './expressions';

type Call = Extract<Node, { type: 'call' }>;
type Impl = (args: Args) => Value;

interface Args {
  name: string;
  count: number;
  ctx: ExpressionContext;
  value(i: number): Value;
  text(i: number): string;
}

const STATUS: Record<string, StatusFunction> = {
  succeeded: 'succeeded',
  failed: 'failed',
  succeededorfailed: 'succeededOrFailed',
  always: 'always',
  canceled: 'canceled',
};

/** name -> [min args, max args, implementation] */
const FUNCTIONS: Record<string, [number, number, Impl]> = {
  and: [2, Infinity, (a) => range(a.count).every((i) => truthy(a.value(i)))],
  or: [2, Infinity, (a) => range(a.count).some((i) => truthy(a.value(i)))],
  not: [1, 1, (a) => !truthy(a.value(0))],
  xor: [2, 2, (a) => truthy(a.value(0)) !== truthy(a.value(1))],
  iif: [3, 3, (a) => (truthy(a.value(0)) ? a.value(1) : a.value(2))],
  eq: [2, 2, (a) => equal(a.value(0), a.value(1))],
  ne: [2, 2, (a) => !equal(a.value(0), a.value(1))],
  gt: [2, 2, (a) => compare(a.value(0), a.value(1), 'gt') > 0],
  ge: [2, 2, (a) => compare(a.value(0), a.value(1), 'ge') >= 0],
  lt: [2, 2, (a) => compare(a.value(0), a.value(1), 'lt') < 0],
  le: [2, 2, (a) => compare(a.value(0), a.value(1), 'le') <= 0],
  in: [2, Infinity, (a) => isIn(a)],
  notin: [2, Infinity, (a) => !isIn(a)],
  contains: [2, 2, (a) => a.text(0).toLowerCase().includes(a.text(1).toLowerCase())],
  containsvalue: [2, 2, (a) => containsValue(a.value(0), a.value(1))],
  startswith: [2, 2, (a) => a.text(0).toLowerCase().startsWith(a.text(1).toLowerCase())],
  endswith: [2, 2, (a) => a.text(0).toLowerCase().endsWith(a.text(1).toLowerCase())],
  lower: [1, 1, (a) => a.text(0).toLowerCase()],
  upper: [1, 1, (a) => a.text(0).toUpperCase()],
  trim: [1, 1, (a) => a.text(0).trim()],
  length: [1, 1, (a) => length(a.value(0))],
  join: [2, 2, (a) => join(a.text(0), a.value(1))],
  split: [2, 2, (a) => (a.text(1) === '' ? [a.text(0)] : a.text(0).split(a.text(1)))],
  replace: [3, 3, (a) => (a.text(1) === '' ? a.text(0) : a.text(0).split(a.text(1)).join(a.text(2)))],
  format: [1, Infinity, (a) => format(a)],
  coalesce: [1, Infinity, (a) => coalesce(a)],
  converttojson: [1, 1, (a) => JSON.stringify(a.value(0), null, 2)],
  counter: [2, 2, (a) => counter(a)],
};

export const FUNCTION_NAMES = [
  'and',
  'or',
  'not',
  'xor',
  'iif',
  'eq',
  'ne',
  'gt',
  'ge',
  'lt',
  'le',
  'in',
  'notIn',
  'contains',
  'containsValue',
  'startsWith',
  'endsWith',
  'lower',
  'upper',
  'trim',
  'length',
  'join',
  'split',
  'replace',
  'format',
  'coalesce',
  'convertToJson',
  'counter',
];

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function isIn(a: Args): boolean {
  const left = a.value(0);
  return range(a.count - 1).some((i) => equal(left, a.value(i + 1)));
}

function containsValue(collection: Value, needle: Value): boolean {
  if (Array.isArray(collection)) return collection.some((x) => equal(x, needle));
  if (isObject(collection)) return Object.values(collection).some((x) => equal(x, needle));
  return false;
}

function length(v: Value): number {
  if (Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  return toText(v).length;
}

function join(separator: string, v: Value): string {
  if (!Array.isArray(v)) return toStringOrUndefined(v) ?? '';
  return v.map((x) => toStringOrUndefined(x) ?? '').join(separator);
}

/** format('{0} and {1}', a, b): `{{` and `}}` are literal braces; format specifiers are not supported. */
function format(a: Args): string {
  const fmt = a.text(0);
  return fmt.replace(/\{\{|\}\}|\{(\d+)(:[^}]*)?\}/g, (whole, index: string | undefined, spec: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const i = Number(index);
    if (spec)
      throw new ExpressionError(`format(): the format specifier '${spec}' is not supported by the local runner`);
    if (i + 1 >= a.count) throw new ExpressionError(`format(): '${whole}' refers to an argument that was not given`);
    return a.text(i + 1);
  });
}

function coalesce(a: Args): Value {
  for (let i = 0; i < a.count; i++) {
    const v = a.value(i);
    if (v !== null && v !== '') return v;
  }
  return null;
}

function counter(a: Args): Value {
  if (a.ctx.mode === 'template' || !a.ctx.counter)
    throw new ExpressionError(
      'counter() is a runtime function: use it in a variable with a runtime expression, e.g. value: $[ counter(variables.prefix, 0) ], not in ${{ }}',
    );
  const seed = toNumber(a.value(1));
  if (!Number.isInteger(seed)) throw new ExpressionError('counter(): the seed must be an integer');
  return a.ctx.counter(a.text(0), seed);
}

function statusCall(node: Call, fn: StatusFunction, ctx: ExpressionContext): boolean {
  if (ctx.mode === 'template' || !ctx.status)
    throw new ExpressionError(
      `${node.name}() is a job status function: it exists only in conditions, not in template expressions`,
    );
  if ((fn === 'always' || fn === 'canceled') && node.args.length)
    throw new ExpressionError(`${node.name}() takes no arguments, got ${node.args.length}`);
  return ctx.status(
    fn,
    node.args.map((n) => toText(evaluate(n, ctx))),
  );
}

export function callFunction(node: Call, ctx: ExpressionContext): Value {
  const lower = node.name.toLowerCase();
  if (STATUS[lower]) return statusCall(node, STATUS[lower], ctx);
  const entry = FUNCTIONS[lower];
  if (!entry)
    throw new ExpressionError(
      `Unrecognized function '${node.name}' (the local runner has ${Object.values(STATUS).join(', ')}, ${FUNCTION_NAMES.join(', ')})`,
    );
  const [min, max, impl] = entry;
  if (node.args.length < min || node.args.length > max)
    throw new ExpressionError(
      `${node.name}() takes ${min === max ? min : `${min} to ${max === Infinity ? 'any number of' : max}`} argument(s), got ${node.args.length}`,
    );
  const cache = new Map<number, Value>();
  const value = (i: number): Value => {
    if (!cache.has(i)) cache.set(i, evaluate(node.args[i], ctx));
    return cache.get(i)!;
  };
  return impl({
    name: node.name,
    count: node.args.length,
    ctx,
    value,
    text: (i) => toText(value(i), `argument ${i + 1} of ${node.name}()`),
  });
}
