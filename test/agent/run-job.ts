/**
 * One job (or one leg of a matrix / parallel strategy) on one agent: its condition, its folders
 * (s, a, b, _temp), its variables (predefined, the job's, the leg's), the implicit checkout, the
 * steps in order. When jobs run in parallel each job's log is kept together and printed when the
 * job ends, as the web UI shows one log per job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyDecls, jobContext } from './dependencies';
import * as YAML from 'yaml';
import { evaluateCondition, evaluateExpression } from './expressions';
import { matrixLegs, PipelineError, type Job, type Stage, type Step, type VariableDecl } from './pipeline-model';
import type { JobRecord, RunContext, StepRecord } from './run-context';
import { failWith, runStep } from './run-step';
import { VariableStore } from './variables';
import { mergeResults, type TaskResult } from './vso';

export interface Leg {
  name: string;
  /** 1-based position among the job's legs (System.JobPositionInPhase). */
  position: number;
  total: number;
  variables: VariableDecl[];
}

/** The legs of a job: its strategy's, or the job itself as the one leg. */
export function legsOf(job: Job): Leg[] | undefined {
  const legs = job.strategy?.legs;
  return legs?.map((l, i) => ({ name: l.name, position: i + 1, total: legs.length, variables: l.variables }));
}

/**
 * `matrix: $[ ... ]`: the legs from a runtime expression evaluated when the job starts, e.g. a
 * previous job's output `{'weu': {'region': 'westeurope'}, ...}` (JSON, single quotes allowed).
 */
export function runtimeLegs(ctx: RunContext, u: JobUnit): Leg[] {
  const where = `${u.job.path}.strategy.matrix`;
  const expression = u.job.strategy!.expression!;
  let text = '';
  try {
    text = evaluateExpression(expression, jobContext(u.stage, u.job, u.stageStore, u.done, ctx.stages));
  } catch (e) {
    failWith(e, where);
  }
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : YAML.parse(text, { schema: 'failsafe' });
  } catch {
    throw new PipelineError(`${where}: $[${expression}] gave '${text}', which is not a JSON mapping of legs`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PipelineError(`${where}: $[${expression}] gave '${text}', which is not a JSON mapping of legs`);
  const legs = matrixLegs(value as Record<string, unknown>, where);
  return legs.map((l, i) => ({ name: l.name, position: i + 1, total: legs.length, variables: l.variables }));
}

export interface JobUnit {
  stage: Stage;
  job: Job;
  leg?: Leg;
  stageStore: VariableStore;
  /** Jobs of this stage finished so far. */
  done: JobRecord[];
}

const recordName = (u: JobUnit): string => (u.leg ? `${u.job.name}_${u.leg.name}` : u.job.name);
const displayOf = (u: JobUnit): string => `${u.job.displayName ?? u.job.name}${u.leg ? ` ${u.leg.name}` : ''}`;
const stageNameOf = (stage: Stage): string => (stage.implicit ? '' : stage.name);

function counterOf(ctx: RunContext) {
  return (prefix: string, seed: number): number => {
    const next = ctx.counters.has(prefix) ? ctx.counters.get(prefix)! + 1 : seed;
    ctx.counters.set(prefix, next);
    return next;
  };
}

/** Why the job does not run (its condition is false), or undefined. */
export function skipReason(ctx: RunContext, u: JobUnit): string | undefined {
  const condition = u.job.condition ?? 'succeeded()';
  try {
    const ectx = jobContext(u.stage, u.job, u.stageStore, u.done, ctx.stages, counterOf(ctx));
    return evaluateCondition(condition, ectx) ? undefined : `condition is false: ${condition}`;
  } catch (e) {
    return failWith(e, `${u.job.path}.condition`);
  }
}

export function skippedJob(ctx: RunContext, u: JobUnit, why: string): JobRecord {
  ctx.print(`Skipping job ${displayOf(u)}: ${why}\n`);
  return {
    stage: stageNameOf(u.stage),
    name: recordName(u),
    job: u.job.name,
    leg: u.leg?.name,
    displayName: displayOf(u),
    result: 'Skipped',
    skipped: why,
    steps: [],
    outputs: {},
  };
}

/** The job's variables: the stage's, the agent's predefined ones, the job's, then the leg's. */
function jobStore(ctx: RunContext, u: JobUnit, jobRoot: string, sources: string): VariableStore {
  const store = new VariableStore(u.stageStore);
  const tempDir = path.join(jobRoot, '_temp');
  const predefined: Record<string, string> = {
    'Build.SourcesDirectory': sources,
    'Build.Repository.LocalPath': sources,
    'System.DefaultWorkingDirectory': sources,
    'Build.ArtifactStagingDirectory': path.join(jobRoot, 'a'),
    'Build.StagingDirectory': path.join(jobRoot, 'a'),
    'Build.BinariesDirectory': path.join(jobRoot, 'b'),
    'Agent.BuildDirectory': jobRoot,
    'Pipeline.Workspace': jobRoot,
    'Agent.TempDirectory': tempDir,
    'Agent.WorkFolder': ctx.workRoot,
    'System.JobName': recordName(u),
    'System.JobDisplayName': displayOf(u),
    'System.PhaseName': u.job.name,
    'System.JobPositionInPhase': String(u.leg?.position ?? 1),
    'System.TotalJobsInPhase': String(u.leg?.total ?? 1),
    'Agent.JobName': displayOf(u),
    'Agent.JobStatus': 'Succeeded',
  };
  for (const [k, v] of Object.entries(predefined)) store.set(k, v);
  const ectx = () => jobContext(u.stage, u.job, store, u.done, ctx.stages, counterOf(ctx));
  applyDecls(store, u.job.variables, ectx, `${u.job.path}.variables`);
  if (u.leg) applyDecls(store, u.leg.variables, ectx, `${u.job.path}.strategy.matrix.${u.leg.name}`);
  return store;
}

function stepsOf(job: Job): Step[] {
  // `checkout: none` only suppresses the implicit checkout; the agent shows no step for it.
  const steps = job.steps.filter((s) => !(s.kind === 'checkout' && s.repository === 'none'));
  if (!job.deployment && !job.steps.some((s) => s.kind === 'checkout'))
    steps.unshift({
      kind: 'checkout',
      repository: 'self',
      persistCredentials: false,
      path: `${job.path}.steps(implicit checkout)`,
      continueOnError: false,
      enabled: true,
      env: {},
      retryCountOnTaskFailure: 0,
    });
  return steps;
}

/** Runs the job's steps on an agent (the caller holds the agent slot). */
export async function executeJob(ctx: RunContext, u: JobUnit): Promise<JobRecord> {
  const { job, stage } = u;
  const parallel = (ctx.opts.parallel ?? 1) > 1;
  const buffer: string[] = [];
  const print = parallel ? (t: string) => void buffer.push(t) : ctx.print;
  const display = displayOf(u);
  const header = `\n──── Job: ${display}${job.environment ? ` (environment ${job.environment})` : ''} ────\n`;
  if (!(stage.implicit && stage.jobs.length === 1 && job.name === 'Job' && !u.leg)) print(header);
  if (parallel) ctx.print(`${new Date().toISOString()} Job ${display} started\n`);

  // The agent's folders for this job: s (sources), a (artifact staging), b (binaries), _temp.
  const jobRoot = path.join(ctx.workRoot, String(ctx.nextJobNumber()));
  const sources = ctx.opts.repoDir ? path.resolve(ctx.opts.repoDir) : path.join(jobRoot, 's');
  const tempDir = path.join(jobRoot, '_temp');
  for (const d of [sources, tempDir, path.join(jobRoot, 'a'), path.join(jobRoot, 'b')])
    fs.mkdirSync(d, { recursive: true });
  const store = jobStore(ctx, u, jobRoot, sources);

  let status: TaskResult = 'Succeeded';
  const deadline = job.timeoutInMinutes ? performance.now() + job.timeoutInMinutes * 60_000 : undefined;
  const records: StepRecord[] = [];
  const outputs: Record<string, string> = {};
  try {
    for (const step of stepsOf(job)) {
      store.set('Agent.JobStatus', status);
      const rec = await runStep(ctx, step, {
        stageName: stageNameOf(stage),
        jobName: recordName(u),
        job,
        store,
        sources,
        tempDir,
        status: () => status,
        outputs,
        deadline,
        print,
      });
      records.push(rec);
      ctx.steps.push(rec);
      if (rec.result !== 'Skipped') status = mergeResults(status, rec.result);
    }
  } finally {
    if (parallel) ctx.print(buffer.join(''));
  }
  const result = status === 'Failed' && job.continueOnError ? 'SucceededWithIssues' : status;
  return {
    stage: stageNameOf(stage),
    name: recordName(u),
    job: job.name,
    leg: u.leg?.name,
    displayName: display,
    result,
    steps: records,
    outputs,
  };
}
