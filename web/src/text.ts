/**
 * Presentation of report values as words: labels for results, modes, actions and statuses, the
 * run's duration, and the cause/fix inside a failure message. Pure functions, no DOM.
 */
import type { Report } from '../../tasks/common/report/model';

/** Tone of a badge: its colour, and (for colour-blind readers) its icon. The text always says it too. */
export type Tone = 'ok' | 'warn' | 'fail' | 'info' | 'add' | 'change' | 'remove' | 'neutral';

export interface Label {
  text: string;
  tone: Tone;
}

const RESULT: Record<string, Label> = {
  Succeeded: { text: 'Succeeded', tone: 'ok' },
  SucceededWithIssues: { text: 'Succeeded with issues', tone: 'warn' },
  Failed: { text: 'Failed', tone: 'fail' },
};

export function resultLabel(result: string | undefined): Label {
  return (result && RESULT[result]) || { text: result || 'Did not finish', tone: 'neutral' };
}

const ACTION: Record<string, Label> = {
  create: { text: 'create', tone: 'add' },
  update: { text: 'update', tone: 'change' },
  delete: { text: 'delete', tone: 'remove' },
  unchanged: { text: 'unchanged', tone: 'neutral' },
  skip: { text: 'skip', tone: 'neutral' },
};

export function actionLabel(action: string): Label {
  return ACTION[action] ?? { text: action, tone: 'neutral' };
}

const STATUS: Record<string, Label> = {
  planned: { text: 'planned', tone: 'info' },
  applied: { text: 'applied', tone: 'ok' },
  unchanged: { text: 'no change', tone: 'neutral' },
  failed: { text: 'failed', tone: 'fail' },
  'not-run': { text: 'not run', tone: 'neutral' },
};

export function statusLabel(status: string): Label {
  return STATUS[status] ?? { text: status, tone: 'neutral' };
}

const CHECK: Record<string, Label> = {
  pass: { text: 'pass', tone: 'ok' },
  warn: { text: 'warn', tone: 'warn' },
  fail: { text: 'fail', tone: 'fail' },
  skip: { text: 'skip', tone: 'neutral' },
};

export function checkLabel(status: string): Label {
  return CHECK[status] ?? { text: status, tone: 'neutral' };
}

/** What each task is, in the words of its task.json friendlyName. */
const TASK_PURPOSE: Record<string, string> = {
  FluxOidcProvision: 'Provision identity and access',
  FluxManifestPatch: 'Patch flux-system manifests',
  FluxOidcVerify: 'Verify (validation gate)',
};

export function taskPurpose(task: string): string | undefined {
  return TASK_PURPOSE[task];
}

/** Check groups, from the prefix of a check id (`azure.oidc-issuer` → Azure). */
const CHECK_GROUP: Record<string, string> = {
  azure: 'Azure',
  devops: 'Azure DevOps',
  cluster: 'Cluster',
  token: 'End-to-end token proof',
  reconcile: 'Reconcile',
  cleanup: 'Clean-up',
};

export function checkGroup(id: string): string | undefined {
  const dot = id.indexOf('.');
  return dot > 0 ? CHECK_GROUP[id.slice(0, dot)] : undefined;
}

/** "12 s", "3 min 5 s"; undefined when either time is missing or unreadable. */
export function duration(report: Pick<Report, 'started' | 'finished'>): string | undefined {
  if (!report.finished) return undefined;
  const ms = Date.parse(report.finished) - Date.parse(report.started);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

export interface CauseFix {
  what: string;
  cause?: string;
  fix?: string;
}

function marker(text: string, word: string, from: number): number {
  // The task's failure text is "<message>. Cause: <cause>. Fix: <fix>" (tasks/common/pipeline/errors.ts)
  // or "Input '…' (…): <problem>. Fix: <fix>" (inputs.ts): a marker follows a sentence end.
  const re = new RegExp(`[.!?:] ${word}: `, 'g');
  re.lastIndex = from;
  const m = re.exec(text);
  return m ? m.index + 1 : -1;
}

/** Splits a failure message into what happened, its cause and its fix, when it carries them. */
export function splitCauseFix(text: string): CauseFix {
  const c = marker(text, 'Cause', 0);
  const f = marker(text, 'Fix', c >= 0 ? c : 0);
  if (c < 0 && f < 0) return { what: text };
  const what = text.slice(0, c >= 0 ? c : f).trim();
  const out: CauseFix = { what };
  if (c >= 0) out.cause = text.slice(c + ' Cause: '.length, f >= 0 ? f : undefined).trim();
  if (f >= 0) out.fix = text.slice(f + ' Fix: '.length).trim();
  return out;
}
