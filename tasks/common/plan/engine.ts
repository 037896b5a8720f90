/**
 * The plan/apply engine: one code path for both modes.
 *
 *  1. observe + plan every step, in order (no writes; plan mode stops after step 3);
 *  2. print the plan and record it in the report;
 *  3. run the preflight checks against the whole plan: any failure stops before the first write;
 *  4. apply mode: walk the same list; a step that depends on one that wrote something is observed
 *     and planned again first; steps whose action is unchanged/skip are not applied.
 *
 * A converged system plans all-unchanged and apply makes zero writes.
 */
import type { Logger } from '../log';
import type { ReportBuilder } from '../report/builder';
import { UserError } from '../errors';
import type { CheckStatus, FieldChange, Mode } from '../report/model';
import { KNOWN_AFTER_APPLY, writes, type PlannedStep, type Step, type StepPlan } from './step';

export interface PreflightResult {
  status: CheckStatus;
  evidence?: string;
  cause?: string;
  fix?: string;
}

/** A check over the whole plan that must pass before anything is written (e.g. the 20-federated-credentials budget). */
export interface Preflight {
  id: string;
  title: string;
  check(planned: readonly PlannedStep[]): PreflightResult | Promise<PreflightResult>;
}

export interface RunStepsOptions {
  mode: Mode;
  log: Logger;
  report?: ReportBuilder;
  preflight?: Preflight[];
}

export interface RunStepsResult {
  /** The plan as first made (before any apply). */
  planned: PlannedStep[];
  /** Steps the run wrote (apply) or would write (plan). */
  changed: number;
  /** True when every step planned unchanged or skip: nothing to do. */
  converged: boolean;
}

const SYMBOL: Record<StepPlan['action'], string> = { create: '+', update: '~', delete: '-', unchanged: '=', skip: '·' };

/** Display text of a value in a change (strings bare, others as JSON; never more than 200 chars). */
export function displayValue(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === KNOWN_AFTER_APPLY) return '(known after apply)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function fieldChanges(plan: StepPlan): FieldChange[] {
  return plan.changes.map((c) => {
    const from = displayValue(c.from);
    const to = displayValue(c.to);
    return { field: c.field, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  });
}

function describe(step: Step, plan: StepPlan): string[] {
  const head = `${SYMBOL[plan.action]} ${plan.action} ${step.kind} ${step.name}${plan.note ? ` (${plan.note})` : ''}`;
  const lines = [head];
  for (const c of fieldChanges(plan)) lines.push(`    ${c.field}: ${c.from ?? '(none)'} -> ${c.to ?? '(none)'}`);
  return lines;
}

async function observeAndPlan(step: Step): Promise<PlannedStep> {
  const observed = await step.observe();
  return { step, observed, plan: step.plan(observed) };
}

/** Every step id is unique, and a step depends only on steps that come before it. */
function checkOrder(steps: readonly Step<unknown>[]): void {
  const ids = new Set<string>();
  for (const s of steps) {
    if (ids.has(s.id)) throw new Error(`duplicate step id ${s.id}`);
    for (const d of s.dependsOn ?? [])
      if (!ids.has(d)) throw new Error(`step ${s.id} depends on ${d}, which does not come before it`);
    ids.add(s.id);
  }
}

/** 1-2. Observes and plans every step (no writes) and prints the plan: plan and apply print the same plan. */
async function planAll(steps: readonly Step<unknown>[], log: Logger): Promise<PlannedStep[]> {
  const planned: PlannedStep[] = [];
  for (const step of steps) planned.push(await observeAndPlan(step));
  const toWrite = planned.filter((p) => writes(p.plan)).length;
  log.info(`Plan: ${toWrite} to change, ${planned.length - toWrite} unchanged or skipped`);
  for (const p of planned) for (const line of describe(p.step, p.plan)) log.info(line);
  return planned;
}

/** 3. Runs every preflight check (so the user sees every problem at once); returns the failures and their fixes. */
async function preflight(
  planned: PlannedStep[],
  opts: RunStepsOptions,
): Promise<{ failed: string[]; fixes: string[] }> {
  const { log, report } = opts;
  const failed: string[] = [];
  const fixes: string[] = [];
  for (const pf of opts.preflight ?? []) {
    const r = await pf.check(planned);
    report?.check({ id: pf.id, title: pf.title, ...r });
    if (r.status === 'fail') {
      failed.push(`${pf.title}${r.cause ? `: ${r.cause}` : ''}`);
      if (r.fix) fixes.push(r.fix);
    }
    if (r.status === 'warn')
      log.warn(`${pf.title}: ${r.cause ?? r.evidence ?? 'warning'}${r.fix ? `. Fix: ${r.fix}` : ''}`);
  }
  return { failed, fixes };
}

/** Plan mode, or a failed preflight: records the plan in the report, and stops on a failure. */
function stopBeforeApply(
  planned: PlannedStep[],
  mode: Mode,
  report: ReportBuilder | undefined,
  failed: string[],
  fixes: string[],
): void {
  for (const p of planned) {
    report?.resource({
      kind: p.step.kind,
      name: p.step.name,
      action: p.plan.action,
      changes: fieldChanges(p.plan),
      status: mode === 'plan' ? 'planned' : writes(p.plan) ? 'not-run' : 'unchanged',
      ...(p.plan.note ? { note: p.plan.note } : {}),
    });
  }
  if (failed.length > 0) {
    throw new UserError(`Preflight failed, nothing was changed: ${failed.join('; ')}`, {
      code: 'PreflightFailed',
      fix: fixes.length > 0 ? fixes.join('; ') : 'see the failed checks in the run summary',
    });
  }
}

/**
 * Applies one step: observed and planned again first when a dependency wrote something (only that
 * can make the observation stale; a KNOWN_AFTER_APPLY value in the step's own plan is produced by
 * its own apply). Returns true when it wrote.
 */
async function applyOne(planned: PlannedStep, wrote: ReadonlySet<string>, opts: RunStepsOptions): Promise<boolean> {
  const { log, report } = opts;
  let current = planned;
  const { step } = current;
  const stale = (step.dependsOn ?? []).some((d) => wrote.has(d));
  try {
    if (stale) {
      current = await observeAndPlan(step);
      log.debug(`re-planned ${step.kind} ${step.name} after an earlier change: ${current.plan.action}`);
    }
    if (!writes(current.plan)) {
      report?.resource({
        kind: step.kind,
        name: step.name,
        action: current.plan.action,
        status: 'unchanged',
        changes: [],
        ...(current.plan.note ? { note: current.plan.note } : {}),
      });
      return false;
    }
    log.info(
      `${current.plan.action === 'delete' ? 'Deleting' : current.plan.action === 'create' ? 'Creating' : 'Updating'} ${step.kind} ${step.name}`,
    );
    const done = await step.apply(current.observed, current.plan);
    const note = (done && done.note) || current.plan.note;
    report?.resource({
      kind: step.kind,
      name: step.name,
      action: current.plan.action,
      status: 'applied',
      changes: fieldChanges(current.plan),
      ...(note ? { note } : {}),
    });
    return true;
  } catch (err) {
    report?.resource({
      kind: step.kind,
      name: step.name,
      action: current.plan.action,
      status: 'failed',
      changes: fieldChanges(current.plan),
      note: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
}

/** After a failed step: the steps after it, as not run (or unchanged) in the report. */
function reportNotRun(rest: PlannedStep[], report: ReportBuilder | undefined): void {
  for (const r of rest) {
    report?.resource({
      kind: r.step.kind,
      name: r.step.name,
      action: r.plan.action,
      status: writes(r.plan) ? 'not-run' : 'unchanged',
      changes: fieldChanges(r.plan),
      note: writes(r.plan) ? 'not applied: an earlier step failed' : undefined,
    });
  }
}

/** 4. Apply, walking the same list; returns how many steps wrote. */
async function applyAll(planned: PlannedStep[], opts: RunStepsOptions): Promise<number> {
  const wrote = new Set<string>();
  for (let i = 0; i < planned.length; i++) {
    try {
      if (await applyOne(planned[i], wrote, opts)) wrote.add(planned[i].step.id);
    } catch (err) {
      reportNotRun(planned.slice(i + 1), opts.report);
      throw err;
    }
  }
  return wrote.size;
}

export async function runSteps(steps: readonly Step<unknown>[], opts: RunStepsOptions): Promise<RunStepsResult> {
  const { mode, log } = opts;
  checkOrder(steps);
  const planned = await planAll(steps, log);
  const toWrite = planned.filter((p) => writes(p.plan)).length;
  const { failed, fixes } = await preflight(planned, opts);
  if (mode === 'plan' || failed.length > 0) {
    stopBeforeApply(planned, mode, opts.report, failed, fixes);
    return { planned, changed: toWrite, converged: toWrite === 0 };
  }
  const changed = await applyAll(planned, opts);
  log.info(changed === 0 ? 'Apply complete: nothing to change (converged)' : `Apply complete: ${changed} changed`);
  return { planned, changed, converged: toWrite === 0 };
}
