/**
 * The local pipeline runner: executes an azure-pipelines.yml the way Azure Pipelines would.
 * 1. Compile time (template.ts): runtime parameters bound, templates expanded, `${{ }}` evaluated.
 * 2. The model (pipeline-model.ts): every key checked; what is not implemented is an error naming
 *    its YAML path.
 * 3. Run time (run-stage/run-job/run-step): stages and jobs as dependency graphs on a pool of
 *    `parallel` agents (matrix and parallel strategies bounded by maxParallel), steps in order,
 *    `$( )` macros, `$[ ]` runtime expressions, conditions, output variables across jobs and stages,
 *    continueOnError; tasks run as built bundles through the agent emulation, scripts with bash.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyDecls } from './dependencies';
import { parsePipeline, PipelineError, type Pipeline } from './pipeline-model';
import { fmtMs, type PipelineRun, type PipelineRunOptions, type RunContext } from './run-context';
import { runStages } from './run-stage';
import { Semaphore } from './scheduler';
import { compilePipeline } from './template';
import { VariableStore } from './variables';
import { mergeResults, type TaskResult } from './vso';

export { PipelineError };
export type { CloudLike, JobRecord, PipelineRun, PipelineRunOptions, StageRecord, StepRecord } from './run-context';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Cloud environment entries that are agent environment, not pipeline variables. */
const isProcessOnly = (k: string): boolean =>
  k.startsWith('ENDPOINT_') || k.startsWith('NODE_') || k.startsWith('FLUX_OIDC_') || k.startsWith('SECURE');

function accessTokenOf(env: Record<string, string>): string | undefined {
  if (env.SYSTEM_ACCESSTOKEN) return env.SYSTEM_ACCESSTOKEN;
  try {
    const auth = JSON.parse(env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION ?? '') as { parameters?: { AccessToken?: string } };
    return auth.parameters?.AccessToken;
  } catch {
    return undefined;
  }
}

/** Predefined variables (from the cloud's agent environment) and queue-time ones, before the YAML's. */
function predefinedVariables(opts: PipelineRunOptions, cloudEnv: Record<string, string>): VariableStore {
  const root = new VariableStore();
  for (const [k, v] of Object.entries(cloudEnv)) if (!isProcessOnly(k) && k !== 'SYSTEM_ACCESSTOKEN') root.set(k, v);
  const token = accessTokenOf(cloudEnv);
  if (token) root.set('System.AccessToken', token, { secret: true });
  root.set('System.Debug', opts.debug ? 'true' : 'false');
  if (!root.get('Build.BuildId')) root.set('Build.BuildId', '1');
  if (!root.get('Build.BuildNumber')) root.set('Build.BuildNumber', '1');
  if (!root.get('System.TeamFoundationCollectionUri') && root.get('System.CollectionUri'))
    root.set('System.TeamFoundationCollectionUri', root.get('System.CollectionUri')!.value);
  return root;
}

/** Compile time: the YAML with its templates and parameters -> the model the runner executes. */
export function compile(
  opts: Pick<PipelineRunOptions, 'file' | 'yaml' | 'parameters' | 'variables'>,
  predefined: Record<string, string> = {},
): { pipeline: Pipeline; tree: Record<string, unknown>; parameters: Record<string, unknown> } {
  const file = opts.file ?? 'azure-pipelines.yml';
  const { tree, parameters } = compilePipeline({
    file,
    text: opts.yaml,
    parameters: opts.parameters,
    variables: { ...predefined, ...(opts.variables ?? {}) },
  });
  return { pipeline: parsePipeline(tree, path.basename(file)), tree, parameters };
}

function createContext(opts: PipelineRunOptions, root: VariableStore): RunContext {
  const cloudEnv = opts.cloud?.env ?? {};
  const processEnv = Object.fromEntries(Object.entries(cloudEnv).filter(([k]) => isProcessOnly(k)));
  const taskOnlyEnv = Object.fromEntries(
    Object.entries(processEnv).filter(([k]) => k.startsWith('ENDPOINT_') || k.startsWith('SECURE')),
  );
  const print = opts.print ?? (() => {});
  const caFile = opts.cloud?.ctx?.ca?.caCertPath ?? cloudEnv.NODE_EXTRA_CA_CERTS;
  const warnings: string[] = [];
  let jobNumber = 0;
  return {
    opts,
    file: opts.file ?? 'azure-pipelines.yml',
    print,
    tasksDir: opts.tasksDir ?? path.join(REPO_ROOT, 'dist', 'tasks'),
    sharedEnv: {
      ...Object.fromEntries(Object.entries(processEnv).filter(([k]) => !(k in taskOnlyEnv))),
      // The agent machine trusts the emulated cloud's CA, for git in scripts as for Node in tasks.
      ...(caFile ? { GIT_SSL_CAINFO: caFile } : {}),
    },
    taskOnlyEnv,
    cloudEnv,
    token: accessTokenOf(cloudEnv),
    workRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-')),
    root,
    pool: new Semaphore(Math.max(1, opts.parallel ?? 1)),
    warnings,
    stages: [],
    steps: [],
    summaries: [],
    counters: new Map(),
    nextJobNumber: () => ++jobNumber,
    warn: (message, to = print) => {
      warnings.push(message);
      to(`##[warning]${message}\n`);
    },
  };
}

export async function runPipeline(opts: PipelineRunOptions): Promise<PipelineRun> {
  if (opts.parallel !== undefined && !(Number.isInteger(opts.parallel) && opts.parallel >= 1))
    throw new PipelineError(`parallel: expected a number of agents of at least 1, got ${opts.parallel}`);
  const root = predefinedVariables(opts, opts.cloud?.env ?? {});
  const predefined = Object.fromEntries(root.all().map((v) => [v.name, v.secret ? '' : v.value]));
  const { pipeline, parameters } = compile(opts, predefined);
  const ctx = createContext(opts, root);
  try {
    applyDecls(
      root,
      pipeline.variables,
      () => ({ variable: (n) => root.get(n)?.value, status: () => true }),
      `${path.basename(ctx.file)}.variables`,
    );
    for (const [k, v] of Object.entries(opts.variables ?? {})) root.set(k, v);
    await runStages(ctx, pipeline.stages);
  } finally {
    if (!opts.keepWorkDir) fs.rmSync(ctx.workRoot, { recursive: true, force: true });
  }
  const stages = pipeline.stages.map((s) => ctx.stages.find((r) => r.name === s.name)!).filter(Boolean);
  const ran = stages.filter((s) => s.result !== 'Skipped');
  const overall = ran.reduce<TaskResult>((acc, s) => mergeResults(acc, s.result), 'Succeeded');
  const result: PipelineRun['result'] =
    overall === 'Succeeded' || overall === 'SucceededWithIssues' ? overall : 'Failed';
  printSummary(ctx, result);
  return {
    result,
    stages,
    steps: ctx.steps,
    summaries: ctx.summaries,
    warnings: ctx.warnings,
    parameters,
    workDir: opts.keepWorkDir ? ctx.workRoot : undefined,
  };
}

function printSummary(ctx: RunContext, result: string): void {
  const rows = ctx.steps.map((s) => [
    [s.stage, s.job].filter((x) => x && x !== 'Job').join('/') || '-',
    s.displayName,
    s.result + (s.skipped ? ` (${s.skipped})` : ''),
    s.result === 'Skipped' ? '' : fmtMs(s.durationMs),
  ]);
  const head = ['stage/job', 'step', 'result', 'time'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  ctx.print(
    `\n════ Run summary ════\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n\nResult: ${result}\n`,
  );
  for (const s of ctx.summaries)
    ctx.print(`\n════ Summary: ${s.step} (${path.basename(s.path)}) ════\n${s.content.trimEnd()}\n`);
}
