/**
 * One stage: its condition over the stages it depends on, its variables, then its jobs as a
 * dependency graph; jobs (and the legs of a matrix or parallel strategy) whose dependencies are
 * done run at the same time, each holding an agent of the pool and, for a strategy, one of its
 * `maxParallel` slots.
 */
import { aggregate, applyDecls, stageContext } from './dependencies';
import { evaluateCondition } from './expressions';
import type { Job, Stage } from './pipeline-model';
import type { JobRecord, RunContext, StageRecord } from './run-context';
import { executeJob, legsOf, runtimeLegs, skippedJob, skipReason, type JobUnit } from './run-job';
import { failWith } from './run-step';
import { allSettledOrThrow, runGraph, Semaphore } from './scheduler';
import { VariableStore } from './variables';

async function runJobAndLegs(
  ctx: RunContext,
  stage: Stage,
  job: Job,
  stageStore: VariableStore,
  done: JobRecord[],
): Promise<JobRecord[]> {
  // The condition belongs to the job: every leg runs or none does.
  let why = skipReason(ctx, { stage, job, stageStore, done });
  const legs = why || !job.strategy?.expression ? legsOf(job) : runtimeLegs(ctx, { stage, job, stageStore, done });
  if (!why && legs?.length === 0) why = `the matrix expression gave no legs: ${job.strategy!.expression!.trim()}`;
  const units: JobUnit[] = (legs?.length ? legs : [undefined]).map((leg) => ({ stage, job, leg, stageStore, done }));
  if (why) {
    const skipped = units.map((u) => skippedJob(ctx, u, why));
    done.push(...skipped);
    return skipped;
  }
  const slots = new Semaphore(job.strategy?.maxParallel ?? 0);
  const records = await allSettledOrThrow(
    units.map((u) =>
      slots.with(() =>
        ctx.pool.with(async () => {
          const rec = await executeJob(ctx, u);
          done.push(rec);
          return rec;
        }),
      ),
    ),
  );
  return records;
}

export async function runStage(ctx: RunContext, stage: Stage): Promise<StageRecord> {
  const display = stage.displayName ?? stage.name;
  const condition = stage.condition ?? 'succeeded()';
  if (!stage.implicit) ctx.print(`\n════ Stage: ${display} ════\n`);
  let run = true;
  try {
    run = evaluateCondition(condition, stageContext(stage, ctx.stages, ctx.root));
  } catch (e) {
    failWith(e, `${stage.path}.condition`);
  }
  if (!run) {
    const why = `condition is false: ${condition}`;
    ctx.print(`Skipping stage ${display}: ${why}\n`);
    return { name: stage.name, displayName: display, result: 'Skipped', skipped: why, jobs: [] };
  }
  const stageStore = new VariableStore(ctx.root);
  stageStore.set('System.StageName', stage.implicit ? '__default' : stage.name);
  stageStore.set('System.StageDisplayName', display);
  applyDecls(
    stageStore,
    stage.variables,
    () => ({ variable: (n) => stageStore.get(n)?.value, status: () => true }),
    `${stage.path}.variables`,
  );
  const done: JobRecord[] = [];
  const byJob = await runGraph(stage.jobs, (job) => runJobAndLegs(ctx, stage, job, stageStore, done));
  const jobs = stage.jobs.flatMap((j) => byJob.get(j.name) ?? []);
  return { name: stage.name, displayName: display, result: aggregate(jobs.map((j) => j.result)), jobs };
}

/** Every stage, in dependency order, independent ones at the same time. */
export async function runStages(ctx: RunContext, stages: Stage[]): Promise<void> {
  await runGraph(stages, async (stage) => {
    const record = await runStage(ctx, stage);
    ctx.stages.push(record);
    return record;
  });
}
