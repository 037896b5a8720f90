/**
 * The results tab's view: one card per task run, from plain Report objects. Pure DOM building
 * (no SDK, no network), so tests render sample reports in a browser directly.
 *
 * A card leads with what needs the reader: the result, and for a failure why it failed and how to
 * fix it; then what changed (resources), what was checked (checks with their evidence), and the
 * output variables. Every string from a report goes into a text node (see dom.ts).
 */
import type { FieldChange, Report, ReportCheck, ReportResource } from '../../tasks/common/report/model';
import { renderChain } from './chain';
import { h, plural, type Child } from './dom';
import { fleetSection } from './fleet';
import {
  actionLabel,
  checkGroup,
  checkLabel,
  duration,
  resultLabel,
  splitCauseFix,
  statusLabel,
  taskPurpose,
  type Label,
} from './text';

/** A status in words; style.css adds the tone's colour and icon (as CSS content, silent for screen readers). */
function badge(doc: Document, label: Label, extraClass = ''): HTMLSpanElement {
  return h(doc, 'span', { class: `badge badge--${label.tone}${extraClass ? ` ${extraClass}` : ''}` }, label.text);
}

/** Multi-line text (evidence is one fact per line) keeps its lines. */
function lines(doc: Document, text: string, cls: string): HTMLElement {
  return h(doc, 'pre', { class: cls }, text);
}

function causeFix(doc: Document, parts: { cause?: string; fix?: string; evidence?: string }): HTMLDListElement | null {
  const rows: Child[] = [];
  if (parts.cause) rows.push(h(doc, 'dt', null, 'Cause'), h(doc, 'dd', { class: 'cause' }, parts.cause));
  if (parts.fix) rows.push(h(doc, 'dt', null, 'Fix'), h(doc, 'dd', { class: 'fix' }, parts.fix));
  if (parts.evidence)
    rows.push(h(doc, 'dt', null, 'Evidence'), h(doc, 'dd', null, lines(doc, parts.evidence, 'evidence')));
  return rows.length ? h(doc, 'dl', { class: 'cause-fix' }, rows) : null;
}

/** A failed or warning check inside a callout: its title, cause, fix and evidence. */
function issue(doc: Document, c: ReportCheck, r: Report, id: string): HTMLElement {
  // The chain at a glance (chain.ts) links here: `${id}-check-<n>`, n counting the report's checks from 1.
  return h(
    doc,
    'div',
    { class: 'issue', id: `${id}-check-${r.checks.indexOf(c) + 1}` },
    h(doc, 'h4', { class: 'issue__title' }, badge(doc, checkLabel(c.status)), ' ', c.title),
    causeFix(doc, c),
  );
}

function failureCallout(doc: Document, r: Report, id: string): HTMLElement | null {
  const failed = r.checks.filter((c) => c.status === 'fail');
  if (r.result !== 'Failed' && failed.length === 0) return null;
  const body: Child[] = [h(doc, 'h3', { id: `${id}-why` }, 'Why it failed')];
  const message = r.message ?? r.errors[0];
  if (message) {
    const m = splitCauseFix(message);
    body.push(h(doc, 'p', { class: 'callout__what' }, m.what), causeFix(doc, m));
  }
  // errors[] usually holds the message itself; list only what it adds.
  const more = r.errors.filter((e) => e !== message);
  if (more.length)
    body.push(
      h(
        doc,
        'ul',
        { class: 'plain-list' },
        more.map((e) => h(doc, 'li', null, e)),
      ),
    );
  for (const c of failed) body.push(issue(doc, c, r, id));
  return h(doc, 'section', { class: 'callout callout--fail', 'aria-labelledby': `${id}-why` }, body);
}

function attentionCallout(doc: Document, r: Report, id: string): HTMLElement | null {
  const warned = r.checks.filter((c) => c.status === 'warn');
  if (warned.length === 0 && r.warnings.length === 0) return null;
  return h(
    doc,
    'section',
    { class: 'callout callout--warn', 'aria-labelledby': `${id}-attention` },
    h(doc, 'h3', { id: `${id}-attention` }, 'Needs attention'),
    warned.map((c) => issue(doc, c, r, id)),
    r.warnings.length
      ? h(
          doc,
          'ul',
          { class: 'plain-list warnings' },
          r.warnings.map((w) => h(doc, 'li', null, w)),
        )
      : null,
  );
}

function change(doc: Document, c: FieldChange): HTMLLIElement {
  return h(
    doc,
    'li',
    null,
    h(doc, 'code', { class: 'field' }, c.field),
    ': ',
    c.from === undefined ? h(doc, 'span', { class: 'none' }, '(none)') : h(doc, 'span', { class: 'from' }, c.from),
    h(doc, 'span', { class: 'arrow' }, ' → '),
    c.to === undefined ? h(doc, 'span', { class: 'none' }, '(none)') : h(doc, 'span', { class: 'to' }, c.to),
  );
}

function resourceTable(doc: Document, rows: ReportResource[], r: Report, caption: string): HTMLTableElement {
  const apply = r.mode === 'apply';
  return h(
    doc,
    'table',
    { class: 'resources' },
    h(doc, 'caption', { class: 'sr-only' }, caption),
    h(
      doc,
      'thead',
      null,
      h(
        doc,
        'tr',
        null,
        h(doc, 'th', { scope: 'col' }, 'Action'),
        h(doc, 'th', { scope: 'col' }, 'Kind'),
        h(doc, 'th', { scope: 'col' }, 'Name'),
        h(doc, 'th', { scope: 'col' }, 'Changes'),
        apply ? h(doc, 'th', { scope: 'col' }, 'Status') : null,
      ),
    ),
    h(
      doc,
      'tbody',
      null,
      rows.map((res) =>
        h(
          doc,
          'tr',
          { class: `resource resource--${actionLabel(res.action).tone}` },
          h(doc, 'td', null, badge(doc, actionLabel(res.action))),
          h(doc, 'td', { class: 'kind' }, res.kind),
          h(
            doc,
            'td',
            { class: 'name' },
            h(doc, 'span', { class: 'mono' }, res.name),
            res.note ? h(doc, 'div', { class: 'note' }, res.note) : null,
          ),
          h(
            doc,
            'td',
            { class: 'changes' },
            res.changes.length
              ? h(
                  doc,
                  'ul',
                  { class: 'change-list' },
                  res.changes.map((c) => change(doc, c)),
                )
              : null,
          ),
          apply ? h(doc, 'td', null, badge(doc, statusLabel(res.status), 'badge--quiet')) : null,
        ),
      ),
    ),
  );
}

const PLAN_WORDS: Record<string, string> = {
  create: 'to create',
  update: 'to update',
  delete: 'to delete',
  unchanged: 'unchanged',
  skip: 'skipped',
};
const APPLIED_WORDS: Record<string, string> = { create: 'created', update: 'updated', delete: 'deleted' };
/** Summary parts in a fixed order: what changes first, failures next, the quiet rest last. */
const SUMMARY_ORDER = [
  'to create',
  'to update',
  'to delete',
  'created',
  'updated',
  'deleted',
  'applied',
  'failed',
  'not run',
  'planned',
  'unchanged',
  'skipped',
];
const STATUS_WORDS: Record<string, string> = {
  unchanged: 'unchanged',
  failed: 'failed',
  'not-run': 'not run',
  planned: 'planned',
};

/** "2 to create · 1 to update · 4 unchanged" (plan) or "2 created · 1 failed · 3 not run" (apply). */
function resourceSummary(r: Report): string {
  const counts = new Map<string, number>();
  for (const res of r.resources) {
    let word: string;
    if (r.mode !== 'apply') word = PLAN_WORDS[res.action] ?? res.action;
    else if (res.status === 'applied') word = APPLIED_WORDS[res.action] ?? 'applied';
    else if (res.action === 'skip') word = 'skipped';
    else word = STATUS_WORDS[res.status] ?? res.status;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const rank = (w: string): number => {
    const i = SUMMARY_ORDER.indexOf(w);
    return i < 0 ? SUMMARY_ORDER.length : i;
  };
  return [...counts]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([word, n]) => `${n} ${word}`)
    .join(' · ');
}

const isQuiet = (res: ReportResource): boolean =>
  (res.action === 'unchanged' || res.action === 'skip') && res.status !== 'failed';

function resourcesSection(doc: Document, r: Report, id: string): HTMLElement | null {
  if (r.resources.length === 0) return null;
  const busy = r.resources.filter((res) => !isQuiet(res));
  const quiet = r.resources.filter(isQuiet);
  const body: Child[] = [
    h(doc, 'h3', { id: `${id}-resources` }, 'Resources'),
    h(doc, 'p', { class: 'summary' }, resourceSummary(r)),
  ];
  if (busy.length)
    body.push(resourceTable(doc, busy, r, `Resources ${r.mode === 'apply' ? 'changed' : 'to change'} by ${r.task}`));
  if (quiet.length) {
    const what = busy.length
      ? `Show ${plural(quiet.length, 'unchanged resource')}`
      : `All ${plural(quiet.length, 'resource')} already as desired: show them`;
    body.push(
      h(
        doc,
        'details',
        { class: 'quiet' },
        h(doc, 'summary', null, what),
        resourceTable(doc, quiet, r, `Unchanged resources of ${r.task}`),
      ),
    );
  }
  return h(doc, 'section', { class: 'section', 'aria-labelledby': `${id}-resources` }, body);
}

function checkItem(doc: Document, c: ReportCheck): HTMLLIElement {
  return h(
    doc,
    'li',
    { class: `check check--${checkLabel(c.status).tone}` },
    h(
      doc,
      'div',
      { class: 'check__head' },
      badge(doc, checkLabel(c.status)),
      h(doc, 'span', { class: 'check__title' }, c.title),
    ),
    c.evidence ? lines(doc, c.evidence, 'evidence') : null,
  );
}

function checksSection(doc: Document, r: Report, id: string): HTMLElement | null {
  if (r.checks.length === 0) return null;
  const counts: [string, string, string][] = [
    ['pass', 'passed', 'passed'],
    ['warn', 'warning', 'warnings'],
    ['fail', 'failed', 'failed'],
    ['skip', 'skipped', 'skipped'],
  ];
  const summary = counts
    .map(([status, one, many]) => [r.checks.filter((c) => c.status === status).length, one, many] as const)
    .filter(([n]) => n > 0)
    .map(([n, one, many]) => `${n} ${n === 1 ? one : many}`);
  const known = new Set(['pass', 'warn', 'fail', 'skip']);
  const other = r.checks.filter((c) => !known.has(c.status)).length;
  if (other) summary.push(`${other} other`);

  // Consecutive checks of the same group (azure.*, devops.*, …) share a heading; the task's order is kept.
  const groups: { title: string | undefined; checks: ReportCheck[] }[] = [];
  for (const c of r.checks) {
    const title = checkGroup(c.id);
    const last = groups[groups.length - 1];
    if (last && last.title === title) last.checks.push(c);
    else groups.push({ title, checks: [c] });
  }
  const grouped = groups.some((g) => g.title !== undefined);
  return h(
    doc,
    'section',
    { class: 'section', 'aria-labelledby': `${id}-checks` },
    h(doc, 'h3', { id: `${id}-checks` }, 'Checks'),
    h(doc, 'p', { class: 'summary' }, summary.join(' · ')),
    groups.flatMap((g) => [
      grouped ? h(doc, 'h4', { class: 'group' }, g.title ?? 'Other') : null,
      h(
        doc,
        'ul',
        { class: 'checks' },
        g.checks.map((c) => checkItem(doc, c)),
      ),
    ]),
  );
}

function outputsSection(doc: Document, r: Report, id: string): HTMLElement | null {
  const entries = Object.entries(r.outputs);
  if (entries.length === 0) return null;
  return h(
    doc,
    'section',
    { class: 'section', 'aria-labelledby': `${id}-outputs` },
    h(doc, 'h3', { id: `${id}-outputs` }, 'Output variables'),
    h(
      doc,
      'table',
      { class: 'outputs' },
      h(doc, 'caption', { class: 'sr-only' }, `Output variables of ${r.task}`),
      h(
        doc,
        'tbody',
        null,
        entries.map(([k, v]) =>
          h(
            doc,
            'tr',
            null,
            h(doc, 'th', { scope: 'row' }, h(doc, 'span', { class: 'mono' }, k)),
            h(doc, 'td', null, h(doc, 'span', { class: 'mono' }, v)),
          ),
        ),
      ),
    ),
  );
}

function timeText(doc: Document, r: Report): Child[] {
  const started = new Date(r.started);
  if (Number.isNaN(started.getTime())) return [];
  const took = duration(r);
  return [
    ' · started ',
    h(doc, 'time', { datetime: r.started }, started.toLocaleString()),
    took ? ` · took ${took}` : '',
  ];
}

function card(doc: Document, r: Report, index: number): HTMLElement {
  const id = `run-${index + 1}`;
  const result = resultLabel(r.result);
  const purpose = taskPurpose(r.task);
  const failure = failureCallout(doc, r, id);
  return h(
    doc,
    'article',
    { class: `run run--${result.tone}`, id, 'aria-labelledby': `${id}-title` },
    h(
      doc,
      'header',
      { class: 'run__head' },
      h(
        doc,
        'div',
        { class: 'run__title' },
        h(
          doc,
          'h2',
          { id: `${id}-title` },
          r.task,
          r.version ? h(doc, 'span', { class: 'version' }, ` ${r.version}`) : null,
        ),
        h(
          doc,
          'p',
          { class: 'run__meta' },
          purpose ? `${purpose} · ` : '',
          h(doc, 'span', { class: `mode mode--${r.mode}` }, r.mode === 'plan' ? 'plan (changes nothing)' : r.mode),
          timeText(doc, r),
        ),
      ),
      badge(doc, result, 'badge--result'),
    ),
    // A failed run's message is in the callout; otherwise it is the run's one-line summary.
    !failure && r.message ? h(doc, 'p', { class: 'run__message' }, r.message) : null,
    failure,
    attentionCallout(doc, r, id),
    resourcesSection(doc, r, id),
    checksSection(doc, r, id),
    fleetSection(doc, r, id, { badge, checkItem }),
    outputsSection(doc, r, id),
  );
}

function overview(doc: Document, reports: Report[]): HTMLElement {
  return h(
    doc,
    'nav',
    { class: 'overview', 'aria-label': 'Task runs in this pipeline run' },
    h(
      doc,
      'ol',
      null,
      reports.map((r, i) =>
        h(
          doc,
          'li',
          null,
          h(doc, 'a', { href: `#run-${i + 1}` }, badge(doc, resultLabel(r.result)), ' ', r.task, ` (${r.mode})`),
        ),
      ),
    ),
  );
}

/** The message shown when a run has no report (yet). */
export function renderEmpty(doc: Document): HTMLElement {
  return h(
    doc,
    'div',
    { class: 'state state--empty', role: 'status' },
    h(doc, 'h2', null, 'No Flux OIDC reports in this run'),
    h(
      doc,
      'p',
      null,
      'Each Flux OIDC task attaches its report when it finishes. A task that is still running, was skipped or was cancelled has none yet.',
    ),
  );
}

/** Renders the reports of one pipeline run, oldest first. */
export function renderReports(reports: Report[], doc: Document): HTMLElement {
  const root = h(doc, 'div', { class: 'reports' });
  if (reports.length === 0) {
    root.appendChild(renderEmpty(doc));
    return root;
  }
  root.appendChild(renderChain(reports, doc));
  if (reports.length > 1) root.appendChild(overview(doc, reports));
  reports.forEach((r, i) => root.appendChild(card(doc, r, i)));
  return root;
}

/** A notice about one attachment that could not be shown (damaged, unknown format, download failed). */
export function renderProblems(problems: { name: string; message: string }[], doc: Document): HTMLElement | null {
  if (problems.length === 0) return null;
  return h(
    doc,
    'section',
    { class: 'callout callout--warn problems', 'aria-labelledby': 'problems-title' },
    h(
      doc,
      'h2',
      { id: 'problems-title' },
      problems.length === 1 ? 'One report could not be shown' : `${problems.length} reports could not be shown`,
    ),
    h(
      doc,
      'ul',
      { class: 'plain-list' },
      problems.map((p) => h(doc, 'li', null, h(doc, 'strong', null, p.name), ': ', p.message)),
    ),
  );
}
