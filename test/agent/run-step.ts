/**
 * One step as the agent runs it: macros `$( )` expanded at run time (the server's compile time is
 * over), the condition over the job's status, the task (a built bundle) or script process with
 * retries and timeouts, output variables collected, the log masked and timestamped like the
 * agent's (`<ISO time> ##[section]Starting: ...`).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTaskJson, resolveInputs, runBundledTask, runStepProcess, type ProcessRun } from './agent';
import { checkoutSelf } from './checkout';
import { evaluateCondition, ExpressionError } from './expressions';
import { PipelineError, type Job, type Step } from './pipeline-model';
import { fmtMs, OK, type RunContext, type StepRecord } from './run-context';
import type { VariableStore } from './variables';
import { SecretMasker, type TaskResult } from './vso';

export interface StepScope {
  /** The job's timeoutInMinutes as a performance.now() deadline: it bounds every step's timeout. */
  deadline?: number;
  stageName: string;
  /** The job record's name (`<job>_<leg>` for a leg). */
  jobName: string;
  job: Job;
  store: VariableStore;
  sources: string;
  tempDir: string;
  status: () => TaskResult;
  outputs: Record<string, string>;
  /** The job's log. */
  print: (text: string) => void;
}

interface Prepared {
  display: string;
  taskDir?: string;
  inputs: Record<string, string>;
  script: string;
  workingDirectory: string;
  env: Record<string, string>;
  unknown: Set<string>;
}

const stamp = (): string => new Date().toISOString();

export function failWith(e: unknown, where: string): never {
  if (e instanceof ExpressionError) throw new PipelineError(`${where}: ${e.message}`);
  throw e;
}

function resolveTask(ctx: RunContext, step: Extract<Step, { kind: 'task' }>): string {
  const { tasksDir } = ctx;
  const taskDir = path.join(tasksDir, step.taskName);
  if (!fs.existsSync(path.join(taskDir, 'task.json'))) {
    const known = fs.existsSync(tasksDir)
      ? fs.readdirSync(tasksDir).filter((d) => fs.existsSync(path.join(tasksDir, d, 'task.json')))
      : [];
    throw new PipelineError(
      `${step.path}.task: ${step.task} is not a built task of this extension (${tasksDir} has ${known.join(', ') || 'none: run npm run build'}); the local runner runs these tasks and script/bash steps only`,
    );
  }
  const tj = readTaskJson(taskDir);
  if (tj.version.Major !== step.major)
    throw new PipelineError(
      `${step.path}.task: ${step.task} asks for major version ${step.major}, the built task is ${tj.version.Major}.${tj.version.Minor}.${tj.version.Patch}`,
    );
  return taskDir;
}

/** Inputs as the server hands them to the agent: macros expanded, aliases resolved, connections by id. */
function taskInputs(
  ctx: RunContext,
  step: Extract<Step, { kind: 'task' }>,
  taskDir: string,
  expand: (s: string) => string,
  print: (t: string) => void,
): { inputs: Record<string, string>; display: string } {
  const tj = readTaskJson(taskDir);
  const given: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.inputs)) given[k] = expand(v);
  const resolved = resolveInputs(tj, given);
  for (const u of resolved.unknown)
    ctx.warn(
      `${step.path}.inputs.${u}: ${step.taskName}@${step.major} has no input '${u}' (Azure Pipelines ignores it)`,
      print,
    );
  // Explicit inputs only: the agent emulation fills the defaults and expands their macros.
  const inputs = resolved.explicit;
  const conns = ctx.opts.cloud?.serviceConnections;
  for (const input of tj.inputs ?? []) {
    const value = inputs[input.name];
    if (!input.type?.startsWith('connectedService:') || !value || !conns) continue;
    const byName = Object.keys(conns).find((n) => n.toLowerCase() === value.toLowerCase());
    if (byName) inputs[input.name] = conns[byName];
    else if (!Object.values(conns).includes(value))
      throw new PipelineError(
        `${step.path}.inputs.${input.name}: service connection '${value}' does not exist (the emulated project has ${Object.keys(conns).join(', ') || 'none'})`,
      );
  }
  const format = (tj as { instanceNameFormat?: string }).instanceNameFormat ?? step.taskName;
  const withDefaults = resolveInputs(tj, inputs).inputs;
  const display = step.displayName
    ? expand(step.displayName)
    : format.replace(/\$\(([^)]+)\)/g, (w, n: string) => withDefaults[n] ?? w);
  return { inputs, display };
}

function prepare(ctx: RunContext, step: Step, scope: StepScope): Prepared {
  const unknown = new Set<string>();
  const expand = (s: string): string => scope.store.expand(s, (n) => unknown.add(n));
  const p: Prepared = { display: '', inputs: {}, script: '', workingDirectory: scope.sources, env: {}, unknown };
  if (step.kind === 'task') {
    p.taskDir = resolveTask(ctx, step);
    Object.assign(p, taskInputs(ctx, step, p.taskDir, expand, scope.print));
  } else if (step.kind === 'script') {
    p.display = step.displayName ? expand(step.displayName) : step.shortcut === 'bash' ? 'Bash' : 'Script';
    // The server expands macros in the script text before the agent runs it.
    p.script = expand(step.script);
    if (step.workingDirectory) p.workingDirectory = path.resolve(scope.sources, expand(step.workingDirectory));
  } else {
    const repo = scope.store.get('Build.Repository.Name')?.value ?? 'self';
    const branch = (scope.store.get('Build.SourceBranch')?.value ?? 'refs/heads/main').replace(/^refs\/heads\//, '');
    p.display = step.displayName ? expand(step.displayName) : `Checkout ${repo}@${branch} to s`;
  }
  for (const [k, v] of Object.entries(step.env)) p.env[k] = expand(v);
  return p;
}

/** Whether the step runs, and why not. */
function shouldRun(step: Step, scope: StepScope): string | undefined {
  if (!step.enabled) return 'the step is disabled (enabled: false)';
  const condition = step.condition ?? 'succeeded()';
  let run = true;
  try {
    run = evaluateCondition(condition, {
      variable: (n) => scope.store.get(n) && scope.store.expand(scope.store.get(n)!.value),
      status: (fn, args) => {
        if (args.length) throw new ExpressionError(`${fn}() takes no arguments in a step condition`);
        const s = scope.status();
        return fn === 'succeeded' ? OK.includes(s) : fn === 'failed' ? s === 'Failed' : fn !== 'canceled';
      },
    });
  } catch (e) {
    failWith(e, `${step.path}.condition`);
  }
  return run ? undefined : `condition is false: ${condition}`;
}

function warnUnknownMacros(ctx: RunContext, step: Step, unknown: Set<string>, print: (t: string) => void): void {
  for (const n of unknown) {
    const hint =
      n.split('.').length >= 3
        ? " Outputs of other jobs and stages are not macros: map them with variables: { x: $[ dependencies.<job>.outputs['<step>.<var>'] ] } or stageDependencies.<stage>.<job>.outputs[...]"
        : n.includes('.')
          ? ` If it is an output variable, the step that sets it must have name: ${n.split('.')[0]} and run earlier in this job.`
          : '';
    ctx.warn(`${step.path}: $(${n}) is not defined, left as is (as Azure Pipelines does).${hint}`, print);
  }
}

async function runProcess(
  ctx: RunContext,
  step: Exclude<Step, { kind: 'checkout' }>,
  p: Prepared,
  scope: StepScope,
  timeoutMs: number,
): Promise<ProcessRun> {
  const { opts } = ctx;
  const onLogLine = (l: string): void => scope.print(`${l}\n`);
  for (let attempt = 0; ; attempt++) {
    let run: ProcessRun;
    if (step.kind === 'task') {
      const tj = readTaskJson(p.taskDir!);
      scope.print(
        `${'='.repeat(79)}\nTask         : ${(tj as { friendlyName?: string }).friendlyName ?? tj.name}\nVersion      : ${tj.version.Major}.${tj.version.Minor}.${tj.version.Patch}\n${'='.repeat(79)}\n`,
      );
      run = await runBundledTask({
        taskDir: p.taskDir!,
        inputs: p.inputs,
        cwd: scope.sources,
        tempDir: scope.tempDir,
        timeoutMs,
        debug: opts.debug,
        displayName: p.display,
        env: { ...ctx.sharedEnv, ...ctx.taskOnlyEnv, ...scope.store.env({ secretsAsSecretEnv: true }), ...p.env },
        secrets: scope.store.secrets(),
        onLogLine,
      });
    } else {
      const scriptFile = path.join(scope.tempDir, `${crypto.randomUUID()}.sh`);
      fs.writeFileSync(scriptFile, p.script);
      scope.print(`##[command]/usr/bin/bash --noprofile --norc ${scriptFile}\n`);
      run = await runStepProcess({
        command: 'bash',
        args: ['--noprofile', '--norc', scriptFile],
        cwd: p.workingDirectory,
        tempDir: scope.tempDir,
        timeoutMs,
        debug: opts.debug,
        env: { ...ctx.sharedEnv, ...scope.store.env({ secretsAsSecretEnv: false }), ...p.env },
        secrets: scope.store.secrets(),
        judge: 'exit-code',
        failOnStderr: step.failOnStderr,
        displayName: p.display,
        onLogLine,
      });
      fs.rmSync(scriptFile, { force: true });
    }
    if (run.result !== 'Failed' || attempt >= step.retryCountOnTaskFailure) return run;
    scope.print(`##[warning]Retrying ${p.display} (attempt ${attempt + 2} of ${step.retryCountOnTaskFailure + 1})\n`);
  }
}

export async function runStep(ctx: RunContext, step: Step, scope: StepScope): Promise<StepRecord> {
  const p = prepare(ctx, step, scope);
  const base = {
    stage: scope.stageName,
    job: scope.jobName,
    name: step.name,
    kind: step.kind,
    path: step.path,
    displayName: p.display,
    outputs: {} as Record<string, string>,
  };
  const masker = new SecretMasker();
  for (const s of scope.store.secrets()) masker.add(s);
  const startedAt = stamp();
  scope.print(`\n${startedAt} ##[section]Starting: ${masker.mask(p.display)}\n`);
  const skipped = shouldRun(step, scope);
  if (skipped) {
    scope.print(`Skipping: ${skipped}\n${stamp()} ##[section]Finishing: ${masker.mask(p.display)} (Skipped)\n`);
    return { ...base, result: 'Skipped', skipped, log: '', durationMs: 0 };
  }
  warnUnknownMacros(ctx, step, p.unknown, scope.print);

  const started = performance.now();
  let timeoutMs = step.timeoutInMinutes ? step.timeoutInMinutes * 60_000 : (ctx.opts.stepTimeoutMs ?? 600_000);
  if (scope.deadline !== undefined) timeoutMs = Math.max(1, Math.min(timeoutMs, scope.deadline - performance.now()));

  let run: ProcessRun | undefined;
  let result: TaskResult;
  let log: string;
  if (step.kind === 'checkout') {
    ({ result, log } = await checkout(ctx, step, scope));
  } else {
    run = await runProcess(ctx, step, p, scope, timeoutMs);
    result = run.result;
    log = run.log;
    collectVariables(ctx, step, run, scope);
    for (const s of run.summaries)
      ctx.summaries.push({
        step: p.display,
        path: s.path,
        content: s.content ?? `(summary file ${s.path} was not found)`,
      });
  }
  if (result === 'Failed' && step.continueOnError) result = 'SucceededWithIssues';

  const outputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(run?.outputs ?? {})) if (step.name) outputs[`${step.name}.${k}`] = v;
  const allMasker = new SecretMasker();
  for (const s of [...scope.store.secrets(), ...(run?.secrets ?? [])]) allMasker.add(s);
  const outText = Object.entries(outputs)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const durationMs = performance.now() - started;
  const finishedAt = stamp();
  scope.print(
    `${finishedAt} ##[section]Finishing: ${allMasker.mask(p.display)} — ${result}${run?.message && result !== 'Succeeded' ? `: ${allMasker.mask(run.message)}` : ''} (${fmtMs(durationMs)})\n`,
  );
  if (outText) scope.print(`  outputs: ${allMasker.mask(outText)}\n`);
  return { ...base, result, run, log, outputs, startedAt, finishedAt, durationMs };
}

/** setvariable from a step: outputs become `<step>.<var>` for later steps and `dependencies` for later jobs. */
function collectVariables(ctx: RunContext, step: Step, run: ProcessRun, scope: StepScope): void {
  for (const c of run.commands) {
    if (c.kind !== 'setvariable' || !c.name) continue;
    try {
      if (!c.isOutput) {
        scope.store.set(c.name, c.value, { secret: c.isSecret });
        continue;
      }
      if (!step.name) {
        ctx.warn(
          `${step.path}: output variable '${c.name}' was set by a step without name: add name: to the step to use it`,
          scope.print,
        );
        continue;
      }
      scope.store.set(`${step.name}.${c.name}`, c.value, { secret: c.isSecret });
      const key = scope.job.deployment ? `${scope.job.name}.${step.name}.${c.name}` : `${step.name}.${c.name}`;
      scope.outputs[key] = c.value;
    } catch (e) {
      ctx.warn(`${step.path}: ${(e as Error).message}`, scope.print);
    }
  }
}

/** Agent.ProxyBypassList: a JSON list of regular expressions (as the agent passes it to tasks). */
function proxyBypassList(env: Record<string, string>): string[] {
  try {
    const list: unknown = JSON.parse(env.AGENT_PROXYBYPASSLIST ?? '[]');
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

async function checkout(
  ctx: RunContext,
  step: Extract<Step, { kind: 'checkout' }>,
  scope: StepScope,
): Promise<{ result: TaskResult; log: string }> {
  const { opts, cloudEnv: env } = ctx;
  if (step.repository === 'none') return { result: 'Succeeded', log: 'checkout: none' };
  if (opts.repoDir) {
    const log = `Using the local repository ${scope.sources} as Build.SourcesDirectory (--repo): nothing to check out`;
    scope.print(`${log}\n`);
    return { result: 'Succeeded', log };
  }
  const collection = env.SYSTEM_COLLECTIONURI;
  if (!opts.cloud || !collection || !env.BUILD_REPOSITORY_NAME) {
    const log =
      'No emulated cloud repository (run with --scenario, --state or --repo): Build.SourcesDirectory is empty';
    scope.print(`${log}\n`);
    return { result: 'Succeeded', log };
  }
  const url =
    env.BUILD_REPOSITORY_URI ??
    `${collection.replace(/\/?$/, '/')}${encodeURIComponent(env.SYSTEM_TEAMPROJECT ?? '')}/_git/${encodeURIComponent(env.BUILD_REPOSITORY_NAME)}`;
  const res = await checkoutSelf({
    repositoryUrl: url,
    sourceBranch: env.BUILD_SOURCEBRANCH ?? 'refs/heads/main',
    accessToken: ctx.token ?? '',
    dir: scope.sources,
    caFile: opts.cloud.ctx?.ca?.caCertPath ?? env.NODE_EXTRA_CA_CERTS,
    fetchDepth: step.fetchDepth,
    persistCredentials: step.persistCredentials,
    ...(env.AGENT_PROXYURL ? { proxy: { url: env.AGENT_PROXYURL, bypass: proxyBypassList(env) } } : {}),
  });
  scope.print(`${res.log}\n`);
  if (res.commit) scope.store.set('Build.SourceVersion', res.commit);
  return { result: res.ok ? 'Succeeded' : 'Failed', log: res.log };
}
