/**
 * What conditions and `$[ ]` see of finished work (https://learn.microsoft.com/azure/devops/pipelines/process/expressions#dependencies):
 * `dependencies.<job>.result|outputs['<step>.<var>']` in a stage (a matrix job's outputs are
 * `'<leg>.<step>.<var>'`, its result the worst of its legs), `stageDependencies.<stage>.<job>...`
 * for jobs of earlier stages, `dependencies.<stage>.result|outputs['<job>.<step>.<var>']` in
 * stage conditions; the job status functions over the dependencies.
 */
import {
  evaluateExpression,
  ExpressionError,
  type ExpressionContext,
  type StatusFunction,
  type Value,
} from './expressions';
import { PipelineError, type Job, type Stage, type VariableDecl } from './pipeline-model';
import { OK, type JobRecord, type StageRecord } from './run-context';
import type { VariableStore } from './variables';
import { mergeResults, type TaskResult } from './vso';

/** The result of a set of legs (or one job): the worst that ran, Skipped when none ran. */
export function aggregate(results: TaskResult[]): TaskResult {
  const ran = results.filter((r) => r !== 'Skipped');
  return ran.length ? ran.reduce<TaskResult>((acc, r) => mergeResults(acc, r), 'Succeeded') : 'Skipped';
}

/** A YAML job as its dependants see it: result and outputs over all its legs. */
export function jobView(records: JobRecord[], job: string): { result: TaskResult; outputs: Record<string, string> } {
  const legs = records.filter((r) => r.job === job);
  const outputs: Record<string, string> = {};
  for (const r of legs)
    for (const [k, v] of Object.entries(r.outputs)) outputs[r.leg !== undefined ? `${r.leg}.${k}` : k] = v;
  return { result: aggregate(legs.map((r) => r.result)), outputs };
}

export function statusOver(results: (name: string) => TaskResult | undefined, deps: string[], where: string) {
  return (fn: StatusFunction, args: string[]): boolean => {
    for (const a of args)
      if (!deps.some((d) => d.toLowerCase() === a.toLowerCase()))
        throw new ExpressionError(
          `${fn}('${a}'): '${a}' is not a dependency of ${where} (dependsOn: ${deps.join(', ') || 'none'})`,
        );
    const rs = (args.length ? args : deps).map((n) => {
      const real = deps.find((d) => d.toLowerCase() === n.toLowerCase()) ?? n;
      return results(real) ?? 'Skipped';
    });
    switch (fn) {
      case 'succeeded':
        return rs.every((r) => OK.includes(r));
      case 'failed':
        return rs.some((r) => r === 'Failed');
      case 'succeededOrFailed':
      case 'always':
        return true;
      default:
        return false; // canceled(): the local runner is never canceled
    }
  };
}

function stageOutputs(s: StageRecord): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const j of s.jobs)
    for (const [k, v] of Object.entries(j.outputs))
      outputs[`${j.job}.${j.leg !== undefined ? `${j.leg}.` : ''}${k}`] = v;
  return outputs;
}

/** The context of a stage's condition. */
export function stageContext(stage: Stage, stages: StageRecord[], root: VariableStore): ExpressionContext {
  const byName = (n: string) => stages.find((x) => x.name === n);
  const deps: Record<string, Value> = {};
  for (const d of stage.dependsOn) {
    const s = byName(d)!;
    deps[d] = { result: s.result, outputs: stageOutputs(s) };
  }
  return {
    variable: (n) => root.get(n) && root.expand(root.get(n)!.value),
    status: statusOver((n) => byName(n)?.result, stage.dependsOn, `stage ${stage.name}`),
    roots: { dependencies: deps },
  };
}

/** The context of a job's condition and its `$[ ]` variables. */
export function jobContext(
  stage: Stage,
  job: Job,
  store: VariableStore,
  done: JobRecord[],
  stages: StageRecord[],
  counter?: ExpressionContext['counter'],
): ExpressionContext {
  const deps: Record<string, Value> = {};
  for (const d of job.dependsOn) deps[d] = jobView(done, d);
  const stageDeps: Record<string, Value> = {};
  for (const s of stage.dependsOn) {
    const rec = stages.find((x) => x.name === s)!;
    const jobsOf: Record<string, Value> = {};
    for (const name of new Set(rec.jobs.map((j) => j.job))) jobsOf[name] = jobView(rec.jobs, name);
    stageDeps[s] = jobsOf;
  }
  return {
    variable: (n) => store.get(n) && store.expand(store.get(n)!.value),
    status: statusOver((n) => jobView(done, n).result, job.dependsOn, `job ${job.name}`),
    roots: { dependencies: deps, stageDependencies: stageDeps },
    counter,
  };
}

/** Declared variables into a store; `$[ ]` values are runtime expressions, evaluated now. */
export function applyDecls(
  store: VariableStore,
  decls: VariableDecl[],
  ctx: () => ExpressionContext,
  where: string,
): void {
  for (const d of decls) {
    const m = /^\s*\$\[([\s\S]*)\]\s*$/.exec(d.value);
    let value = d.value;
    if (m) {
      try {
        value = evaluateExpression(m[1], ctx());
      } catch (e) {
        if (e instanceof ExpressionError) throw new PipelineError(`${where}.${d.name}: ${e.message}`);
        throw e;
      }
    }
    store.set(d.name, value, { readonly: d.readonly });
  }
}
