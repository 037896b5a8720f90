/**
 * Typed parameters of templates and of the pipeline (runtime parameters), as
 * https://learn.microsoft.com/azure/devops/pipelines/process/template-parameters and
 * https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/parameters-parameter describe them:
 * `- name, type, default, values, displayName`; a value is required unless there is a default;
 * values are checked against their type and `values:`, with the messages Azure Pipelines prints
 * ("A value for the 'x' parameter must be provided.", "The 'x' parameter value 'y' is not a valid
 * Boolean."). The legacy mapping form (`parameters: { name: default }`) takes any value.
 */
import { isObject, toNumber, type Value } from './expressions';
import { PipelineError } from './pipeline-model';

export const PARAMETER_TYPES = [
  'string',
  'number',
  'boolean',
  'object',
  'step',
  'stepList',
  'job',
  'jobList',
  'deployment',
  'deploymentList',
  'stage',
  'stageList',
] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number] | 'legacy';

/** Types Azure Pipelines has that the local runner does not (no pools, secure files or environments here). */
const UNSUPPORTED_TYPES = ['environment', 'filePath', 'pool', 'secureFile', 'serviceConnection'];

export interface ParameterDecl {
  name: string;
  type: ParameterType;
  default?: Value;
  values?: string[];
  path: string;
}

/** Where a list-typed parameter's items go: template references in them expand as such lists. */
export const LIST_KIND: Partial<Record<ParameterType, 'steps' | 'jobs' | 'stages'>> = {
  stepList: 'steps',
  jobList: 'jobs',
  deploymentList: 'jobs',
  stageList: 'stages',
};
export const ITEM_KIND: Partial<Record<ParameterType, 'steps' | 'jobs' | 'stages'>> = {
  step: 'steps',
  job: 'jobs',
  deployment: 'jobs',
  stage: 'stages',
};

const fail = (path: string, message: string): never => {
  throw new PipelineError(`${path}: ${message}`);
};

const scalarText = (v: Value): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Parses `parameters:` of a template or pipeline (list form, or the legacy mapping form). */
export function parseDeclarations(raw: unknown, path: string): ParameterDecl[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (isObject(raw as Value) && !Array.isArray(raw))
    return Object.entries(raw as Record<string, Value>).map(([name, d]) => ({
      name,
      type: 'legacy',
      default: d,
      path: `${path}.${name}`,
    }));
  if (!Array.isArray(raw)) fail(path, 'expected a list of parameters (- name: x, type: string, default: ...)');
  const seen = new Set<string>();
  return (raw as Value[]).map((item, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(item)) fail(p, 'expected a parameter (name, type, default, values)');
    const d = item as Record<string, Value>;
    for (const k of Object.keys(d))
      if (!['name', 'type', 'default', 'values', 'displayName'].includes(k))
        fail(`${p}.${k}`, `'${k}' is not a parameter property (name, displayName, type, default, values)`);
    const name = scalarText(d.name ?? null) ?? '';
    if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      fail(`${p}.name`, 'every parameter needs a name of letters, digits and _');
    if (seen.has(name.toLowerCase())) fail(`${p}.name`, `parameter '${name}' is declared twice`);
    seen.add(name.toLowerCase());
    const type = scalarText(d.type ?? 'string')!;
    if (UNSUPPORTED_TYPES.includes(type))
      fail(`${p}.type`, `parameters of type ${type} are not supported by the local pipeline runner`);
    if (!(PARAMETER_TYPES as readonly string[]).includes(type))
      fail(`${p}.type`, `'${type}' is not a parameter type; use one of ${PARAMETER_TYPES.join(', ')}`);
    let values: string[] | undefined;
    if (d.values !== undefined) {
      if (!Array.isArray(d.values) || d.values.some((v) => scalarText(v) === undefined))
        fail(`${p}.values`, 'expected a list of allowed values');
      values = (d.values as Value[]).map((v) => scalarText(v)!);
    }
    if (typeof d.default === 'string' && d.default.includes('${{'))
      fail(`${p}.default`, 'parameter defaults must be literals: template expressions are not allowed here');
    return { name, type: type as ParameterType, default: d.default, values, path: p };
  });
}

const STEP_KEYS = [
  'task',
  'script',
  'bash',
  'pwsh',
  'powershell',
  'checkout',
  'download',
  'downloadBuild',
  'getPackage',
  'publish',
  'template',
  'reviewApp',
  'restoreCache',
  'saveCache',
];
const has = (v: Value, keys: string[]): boolean => isObject(v) && keys.some((k) => k in v);
const SHAPES: Record<string, { test: (v: Value) => boolean; label: string }> = {
  step: { test: (v) => has(v, STEP_KEYS), label: 'Step' },
  job: { test: (v) => has(v, ['job', 'deployment', 'template']), label: 'Job' },
  deployment: { test: (v) => has(v, ['deployment', 'template']), label: 'Deployment' },
  stage: { test: (v) => has(v, ['stage', 'template']), label: 'Stage' },
};

/** The value a parameter gets: converted to its type, checked against `values:`. */
export function coerceParameter(decl: ParameterDecl, value: Value): Value {
  const text = scalarText(value);
  const notValid = (what: string): never => {
    throw new PipelineError(
      text === undefined
        ? `The '${decl.name}' parameter is not a valid ${what}.`
        : `The '${decl.name}' parameter value '${text}' is not a valid ${what}.`,
    );
  };
  let out: Value = value;
  switch (decl.type) {
    case 'legacy':
    case 'object':
      return value;
    case 'string':
      out = text ?? notValid('String');
      break;
    case 'number': {
      const n = text === undefined || text.trim() === '' ? NaN : toNumber(text);
      out = Number.isNaN(n) ? notValid('Number') : n;
      break;
    }
    case 'boolean':
      if (typeof value === 'boolean') out = value;
      else if (text !== undefined && /^(true|false)$/i.test(text.trim())) out = text.trim().toLowerCase() === 'true';
      else notValid('Boolean');
      break;
    default: {
      const list = decl.type.endsWith('List');
      const shape = SHAPES[list ? decl.type.slice(0, -4) : decl.type];
      const label = `${shape.label}${list ? 'List' : ''}`;
      if (list ? !Array.isArray(value) || !value.every(shape.test) : !shape.test(value)) notValid(label);
      return value;
    }
  }
  if (decl.values && !decl.values.includes(String(text ?? out)))
    throw new PipelineError(`The '${decl.name}' parameter value '${text ?? String(out)}' is not a valid value.`);
  return out;
}

/**
 * The parameters a template or pipeline runs with: given values (already expanded by the caller)
 * over defaults; unknown names, missing values and wrong types are errors naming `where`.
 */
export function bindParameters(
  decls: ParameterDecl[],
  given: Record<string, Value>,
  where: string,
): Record<string, Value> {
  const out: Record<string, Value> = {};
  const legacy = decls.length > 0 && decls.every((d) => d.type === 'legacy');
  for (const name of Object.keys(given))
    if (!legacy && !decls.some((d) => d.name === name))
      throw new PipelineError(
        `${where}: Unexpected parameter '${name}' (declared: ${decls.map((d) => d.name).join(', ') || 'none'})`,
      );
  for (const d of decls) {
    const value = d.name in given ? given[d.name] : d.default;
    if (value === undefined)
      throw new PipelineError(`${where}: A value for the '${d.name}' parameter must be provided.`);
    try {
      out[d.name] = coerceParameter(d, value);
    } catch (e) {
      throw new PipelineError(`${where}: ${(e as Error).message}`);
    }
  }
  if (legacy) for (const [k, v] of Object.entries(given)) if (!(k in out)) out[k] = v;
  return out;
}
