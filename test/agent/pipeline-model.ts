/**
 * azure-pipelines.yml -> a normalized model the local runner executes: stages -> jobs -> steps,
 * with defaults made explicit (plain `steps:` and `jobs:` become one implicit stage/job, stages
 * depend on the previous stage unless `dependsOn` says otherwise). Every key is checked: what the
 * runner does not implement is an error naming the YAML path, never silently ignored. Keys that do
 * not change what a step does (trigger, pr, pool, name, ...) are accepted and listed as such.
 */
export class PipelineError extends Error {}

/**
 * Where a compiled mapping came from (template.ts records it): `templates/x.yml.steps[1]` for a step
 * a template inserted. Errors name that place, not the position in the expanded pipeline.
 */
export const ORIGINS = new WeakMap<object, string>();
const at = (raw: unknown, fallback: string): string =>
  (typeof raw === 'object' && raw !== null && ORIGINS.get(raw)) || fallback;

export type VariableDecl = { name: string; value: string; readonly: boolean };

export interface StepBase {
  path: string;
  name?: string;
  displayName?: string;
  condition?: string;
  continueOnError: boolean;
  enabled: boolean;
  env: Record<string, string>;
  timeoutInMinutes?: number;
  retryCountOnTaskFailure: number;
}
export interface TaskStep extends StepBase {
  kind: 'task';
  task: string;
  taskName: string;
  major: number;
  inputs: Record<string, string>;
}
export interface ScriptStep extends StepBase {
  kind: 'script';
  script: string;
  workingDirectory?: string;
  failOnStderr: boolean;
  shortcut: 'script' | 'bash';
}
export interface CheckoutStep extends StepBase {
  kind: 'checkout';
  repository: 'self' | 'none';
  persistCredentials: boolean;
  fetchDepth?: number;
}
export type Step = TaskStep | ScriptStep | CheckoutStep;

export interface Job {
  path: string;
  name: string;
  displayName?: string;
  dependsOn: string[];
  condition?: string;
  continueOnError: boolean;
  variables: VariableDecl[];
  steps: Step[];
  /** Deployment jobs (runOnce): no implicit checkout, outputs keyed `<job>.<step>.<var>`. */
  deployment: boolean;
  environment?: string;
  timeoutInMinutes?: number;
  /** `strategy: matrix` / `strategy: parallel`: one job per leg, named `<job>_<leg>`. */
  strategy?: JobStrategy;
}

export interface JobStrategy {
  kind: 'matrix' | 'parallel';
  /** Legs in YAML order; a parallel strategy's legs are named 1..N. */
  legs: { name: string; variables: VariableDecl[] }[];
  /** At most this many legs at once; 0 = no limit but the agent pool's. */
  maxParallel: number;
  /** `matrix: $[ ... ]`: the legs come from this runtime expression when the job starts. */
  expression?: string;
}

export interface Stage {
  path: string;
  name: string;
  displayName?: string;
  dependsOn: string[];
  condition?: string;
  variables: VariableDecl[];
  jobs: Job[];
  implicit: boolean;
}

export interface Pipeline {
  variables: VariableDecl[];
  stages: Stage[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, message: string): never {
  throw new PipelineError(`${path}: ${message}`);
}

function checkKeys(obj: Obj, path: string, supported: string[], ignored: string[] = []): void {
  for (const key of Object.keys(obj)) {
    if (supported.includes(key) || ignored.includes(key)) continue;
    fail(
      `${path}.${key}`,
      `'${key}' is not supported by the local pipeline runner (supported here: ${supported.join(', ')}${ignored.length ? `; accepted and ignored: ${ignored.join(', ')}` : ''})`,
    );
  }
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '';
  fail(path, 'expected a scalar value');
}

function bool(v: unknown, path: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  fail(path, `expected true or false, got ${JSON.stringify(v)}`);
}

function int(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) fail(path, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function optString(v: unknown, path: string): string | undefined {
  return v === undefined ? undefined : scalar(v, path);
}

function name(v: unknown, path: string): string {
  const s = scalar(v, path);
  if (!NAME_RE.test(s))
    fail(path, `'${s}' is not a valid name: use letters, digits and '_', not starting with a digit`);
  return s;
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((x, i) => scalar(x, `${path}[${i}]`));
  fail(path, 'expected a name or a list of names');
}

function stringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) fail(path, 'expected a mapping');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scalar(x, `${path}.${k}`);
  return out;
}

function variables(v: unknown, path: string): VariableDecl[] {
  if (v === undefined || v === null) return [];
  if (isObj(v))
    return Object.entries(v).map(([k, x]) => ({ name: k, value: scalar(x, `${path}.${k}`), readonly: false }));
  if (!Array.isArray(v)) fail(path, 'expected a mapping or a list of {name, value}');
  return v.map((item, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(item)) fail(p, 'expected {name, value}');
    if ('group' in item)
      fail(
        `${p}.group`,
        'variable groups are not supported by the local pipeline runner: declare the variables inline',
      );
    if ('template' in item) fail(`${p}.template`, 'variable templates are not supported by the local pipeline runner');
    checkKeys(item, p, ['name', 'value', 'readonly']);
    if (item.name === undefined) fail(p, 'a variable needs a name');
    return {
      name: scalar(item.name, `${p}.name`),
      value: scalar(item.value, `${p}.value`),
      readonly: bool(item.readonly, `${p}.readonly`, false),
    };
  });
}

const COMMON_STEP_KEYS = [
  'name',
  'displayName',
  'condition',
  'continueOnError',
  'enabled',
  'env',
  'timeoutInMinutes',
  'retryCountOnTaskFailure',
];

function step(raw: unknown, path: string): Step {
  if (!isObj(raw)) fail(path, 'expected a step mapping');
  const base = (): StepBase => ({
    path,
    name: raw.name === undefined ? undefined : name(raw.name, `${path}.name`),
    displayName: optString(raw.displayName, `${path}.displayName`),
    condition: optString(raw.condition, `${path}.condition`),
    continueOnError: bool(raw.continueOnError, `${path}.continueOnError`, false),
    enabled: bool(raw.enabled, `${path}.enabled`, true),
    env: stringMap(raw.env, `${path}.env`),
    timeoutInMinutes: int(raw.timeoutInMinutes, `${path}.timeoutInMinutes`),
    retryCountOnTaskFailure: int(raw.retryCountOnTaskFailure, `${path}.retryCountOnTaskFailure`) ?? 0,
  });
  if ('task' in raw) {
    checkKeys(raw, path, ['task', 'inputs', ...COMMON_STEP_KEYS]);
    const ref = scalar(raw.task, `${path}.task`);
    const m = /^(?:[\w-]+\.)*([A-Za-z][\w-]*)@(\d+)$/.exec(ref);
    if (!m)
      fail(`${path}.task`, `'${ref}' is not a task reference: write <TaskName>@<major>, e.g. FluxOidcProvision@1`);
    return {
      ...base(),
      kind: 'task',
      task: ref,
      taskName: m[1],
      major: Number(m[2]),
      inputs: stringMap(raw.inputs, `${path}.inputs`),
    };
  }
  for (const shortcut of ['script', 'bash'] as const) {
    if (shortcut in raw) {
      checkKeys(raw, path, [shortcut, 'workingDirectory', 'failOnStderr', ...COMMON_STEP_KEYS]);
      return {
        ...base(),
        kind: 'script',
        shortcut,
        script: scalar(raw[shortcut], `${path}.${shortcut}`),
        workingDirectory: optString(raw.workingDirectory, `${path}.workingDirectory`),
        failOnStderr: bool(raw.failOnStderr, `${path}.failOnStderr`, false),
      };
    }
  }
  if ('checkout' in raw) {
    checkKeys(raw, path, [
      'checkout',
      'clean',
      'fetchDepth',
      'fetchTags',
      'persistCredentials',
      'displayName',
      'condition',
      'name',
    ]);
    const repo = scalar(raw.checkout, `${path}.checkout`);
    if (repo !== 'self' && repo !== 'none')
      fail(
        `${path}.checkout`,
        `'${repo}': only 'self' and 'none' are supported by the local pipeline runner (it has one repository)`,
      );
    return {
      ...base(),
      kind: 'checkout',
      repository: repo,
      persistCredentials: bool(raw.persistCredentials, `${path}.persistCredentials`, false),
      fetchDepth: int(raw.fetchDepth, `${path}.fetchDepth`),
    };
  }
  const kind = Object.keys(raw).find((k) =>
    [
      'pwsh',
      'powershell',
      'download',
      'downloadBuild',
      'publish',
      'getPackage',
      'template',
      'reviewApp',
      'restoreCache',
      'saveCache',
    ].includes(k),
  );
  fail(
    kind ? `${path}.${kind}` : path,
    kind
      ? `'${kind}' steps are not supported by the local pipeline runner (supported: task, script, bash, checkout)`
      : 'not a step: expected one of task, script, bash, checkout',
  );
}

function steps(v: unknown, path: string): Step[] {
  if (!Array.isArray(v)) fail(path, 'expected a list of steps');
  const out = v.map((s, i) => step(s, at(s, `${path}[${i}]`)));
  const seen = new Set<string>();
  for (const s of out) {
    if (!s.name) continue;
    if (seen.has(s.name.toLowerCase())) fail(`${s.path}.name`, `step name '${s.name}' is used twice in this job`);
    seen.add(s.name.toLowerCase());
  }
  return out;
}

const IGNORED_JOB_KEYS = ['pool', 'workspace', 'cancelTimeoutInMinutes', 'uses', 'templateContext'];

function job(raw: unknown, path: string, index: number): Job {
  if (!isObj(raw)) fail(path, 'expected a job mapping');
  if ('template' in raw) fail(`${path}.template`, 'job templates are not supported by the local pipeline runner');
  for (const k of ['container', 'services'])
    if (k in raw) fail(`${path}.${k}`, `'${k}' is not supported by the local pipeline runner`);
  const common = {
    path,
    displayName: optString(raw.displayName, `${path}.displayName`),
    dependsOn: stringList(raw.dependsOn, `${path}.dependsOn`),
    condition: optString(raw.condition, `${path}.condition`),
    continueOnError: bool(raw.continueOnError, `${path}.continueOnError`, false),
    variables: variables(raw.variables, `${path}.variables`),
    timeoutInMinutes: int(raw.timeoutInMinutes, `${path}.timeoutInMinutes`),
  };
  if ('deployment' in raw) {
    checkKeys(
      raw,
      path,
      [
        'deployment',
        'displayName',
        'dependsOn',
        'condition',
        'continueOnError',
        'variables',
        'environment',
        'strategy',
        'timeoutInMinutes',
      ],
      IGNORED_JOB_KEYS,
    );
    const strategy = raw.strategy;
    if (!isObj(strategy) || !isObj(strategy.runOnce))
      fail(`${path}.strategy`, 'only strategy.runOnce is supported by the local pipeline runner');
    checkKeys(strategy, `${path}.strategy`, ['runOnce']);
    checkKeys(strategy.runOnce, `${path}.strategy.runOnce`, ['deploy']);
    const deploy = strategy.runOnce.deploy;
    if (!isObj(deploy)) fail(`${path}.strategy.runOnce.deploy`, 'expected {steps}');
    checkKeys(deploy, `${path}.strategy.runOnce.deploy`, ['steps'], ['pool']);
    const env = raw.environment;
    const environment = isObj(env)
      ? scalar(env.name, `${path}.environment.name`)
      : optString(env, `${path}.environment`);
    return {
      ...common,
      name: name(raw.deployment, `${path}.deployment`),
      deployment: true,
      environment,
      steps: steps(deploy.steps, `${path}.strategy.runOnce.deploy.steps`),
    };
  }
  checkKeys(
    raw,
    path,
    [
      'job',
      'displayName',
      'dependsOn',
      'condition',
      'continueOnError',
      'variables',
      'steps',
      'timeoutInMinutes',
      'strategy',
    ],
    IGNORED_JOB_KEYS,
  );
  return {
    ...common,
    name: raw.job === undefined ? `Job${index === 0 ? '' : index + 1}` : name(raw.job, `${path}.job`),
    deployment: false,
    steps: steps(raw.steps, `${path}.steps`),
    strategy: raw.strategy === undefined ? undefined : strategy(raw.strategy, `${path}.strategy`),
  };
}

const LEG_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

/** `strategy: matrix` (legs of variables, maxParallel) or `strategy: parallel: N` (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/jobs-job-strategy). */
function strategy(raw: unknown, path: string): JobStrategy {
  if (!isObj(raw)) fail(path, 'expected matrix or parallel');
  checkKeys(raw, path, ['matrix', 'parallel', 'maxParallel']);
  const maxParallel = int(raw.maxParallel, `${path}.maxParallel`) ?? 0;
  if ('matrix' in raw && 'parallel' in raw) fail(path, 'use matrix or parallel, not both');
  if ('parallel' in raw) {
    if ('maxParallel' in raw) fail(`${path}.maxParallel`, 'maxParallel goes with matrix; parallel: N runs N legs');
    const n = int(raw.parallel, `${path}.parallel`) ?? 0;
    if (n < 1 || n > 99) fail(`${path}.parallel`, `expected a number of legs from 1 to 99, got ${n}`);
    return {
      kind: 'parallel',
      maxParallel: 0,
      legs: Array.from({ length: n }, (_, i) => ({ name: String(i + 1), variables: [] })),
    };
  }
  const matrix = raw.matrix;
  const expression = typeof matrix === 'string' ? /^\s*\$\[([\s\S]*)\]\s*$/.exec(matrix)?.[1] : undefined;
  if (expression !== undefined) return { kind: 'matrix', legs: [], maxParallel, expression };
  if (!isObj(matrix) || Object.keys(matrix).length === 0)
    fail(`${path}.matrix`, 'expected a mapping of legs, or a runtime expression $[ ... ] that gives one');
  return { kind: 'matrix', legs: matrixLegs(matrix, `${path}.matrix`), maxParallel };
}

/** Legs of a matrix mapping: `leg: { variable: value }`. */
export function matrixLegs(matrix: Record<string, unknown>, path: string): JobStrategy['legs'] {
  return Object.entries(matrix).map(([leg, vars]) => {
    if (!LEG_RE.test(leg))
      fail(`${path}.${leg}`, `'${leg}' is not a valid leg name: start with a letter; letters, digits and _`);
    if (vars !== '' && vars !== null && !isObj(vars)) fail(`${path}.${leg}`, 'expected a mapping of variables');
    return { name: leg, variables: variables(isObj(vars) ? vars : undefined, `${path}.${leg}`) };
  });
}

function jobs(v: unknown, path: string): Job[] {
  if (!Array.isArray(v)) fail(path, 'expected a list of jobs');
  const out = v.map((j, i) => job(j, at(j, `${path}[${i}]`), i));
  checkGraph(out, path, 'job');
  return out;
}

/** Names unique, dependsOn pointing at known names, no cycles. */
function checkGraph(nodes: { name: string; dependsOn: string[]; path: string }[], path: string, what: string): void {
  const names = new Map<string, string>();
  for (const n of nodes) {
    if (names.has(n.name.toLowerCase())) fail(n.path, `${what} name '${n.name}' is used twice`);
    names.set(n.name.toLowerCase(), n.name);
  }
  for (const n of nodes) {
    n.dependsOn = n.dependsOn.map((d) => {
      const real = names.get(d.toLowerCase());
      if (!real)
        fail(`${n.path}.dependsOn`, `'${d}' is not a ${what} here (${what}s: ${[...names.values()].join(', ')})`);
      return real;
    });
  }
  orderByDependencies(nodes, path, what);
}

/** Topological order, stable in YAML order (the order the runner executes in). */
export function orderByDependencies<T extends { name: string; dependsOn: string[] }>(
  nodes: T[],
  path = '',
  what = 'node',
): T[] {
  const done = new Set<string>();
  const out: T[] = [];
  while (out.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n.name) && n.dependsOn.every((d) => done.has(d)));
    if (!next)
      fail(
        path,
        `the ${what}s' dependsOn form a cycle: ${nodes
          .filter((n) => !done.has(n.name))
          .map((n) => n.name)
          .join(', ')}`,
      );
    done.add(next.name);
    out.push(next);
  }
  return out;
}

const IGNORED_ROOT_KEYS = [
  'trigger',
  'pr',
  'pool',
  'name',
  'schedules',
  'appendCommitMessageToRunName',
  'lockBehavior',
];

/** The compiled pipeline tree (template.ts: templates expanded, `${{ }}` evaluated) -> the model the runner executes. */
export function parsePipeline(root: unknown, file = 'azure-pipelines.yml'): Pipeline {
  if (!isObj(root)) fail(file, 'expected a mapping at the top level');
  if ('resources' in root)
    fail(
      `${file}.resources`,
      "resources are not supported by the local pipeline runner (the repository is the cloud's, or --repo)",
    );
  const bodies = ['stages', 'jobs', 'steps'].filter((k) => k in root);
  if (bodies.length !== 1)
    fail(
      file,
      `expected exactly one of stages, jobs, steps at the top level${bodies.length ? ` (found ${bodies.join(', ')})` : ''}`,
    );
  checkKeys(root, file, ['variables', bodies[0]], IGNORED_ROOT_KEYS);
  const pipelineVars = variables(root.variables, `${file}.variables`);

  let stages: Stage[];
  if ('steps' in root) {
    stages = [
      {
        path: file,
        name: '__default',
        dependsOn: [],
        variables: [],
        implicit: true,
        jobs: [
          {
            path: file,
            name: 'Job',
            dependsOn: [],
            continueOnError: false,
            variables: [],
            deployment: false,
            steps: steps(root.steps, `${file}.steps`),
          },
        ],
      },
    ];
  } else if ('jobs' in root) {
    stages = [
      {
        path: file,
        name: '__default',
        dependsOn: [],
        variables: [],
        implicit: true,
        jobs: jobs(root.jobs, `${file}.jobs`),
      },
    ];
  } else {
    if (!Array.isArray(root.stages)) fail(`${file}.stages`, 'expected a list of stages');
    stages = root.stages.map((raw, i) => {
      const path = at(raw, `${file}.stages[${i}]`);
      if (!isObj(raw)) fail(path, 'expected a stage mapping');
      if ('template' in raw) fail(`${path}.template`, 'stage templates are not supported by the local pipeline runner');
      checkKeys(
        raw,
        path,
        ['stage', 'displayName', 'dependsOn', 'condition', 'variables', 'jobs'],
        ['pool', 'lockBehavior', 'isSkippable', 'templateContext'],
      );
      const stageName = name(raw.stage, `${path}.stage`);
      // A stage without dependsOn depends on the previous one (Azure Pipelines' default).
      const prev =
        i > 0 && isObj((root.stages as unknown[])[i - 1])
          ? scalar((root.stages as Obj[])[i - 1].stage, `${file}.stages[${i - 1}].stage`)
          : undefined;
      return {
        path,
        name: stageName,
        implicit: false,
        displayName: optString(raw.displayName, `${path}.displayName`),
        dependsOn: 'dependsOn' in raw ? stringList(raw.dependsOn, `${path}.dependsOn`) : prev ? [prev] : [],
        condition: optString(raw.condition, `${path}.condition`),
        variables: variables(raw.variables, `${path}.variables`),
        jobs: jobs(raw.jobs, `${path}.jobs`),
      };
    });
    checkGraph(stages, `${file}.stages`, 'stage');
  }
  return { variables: pipelineVars, stages };
}
