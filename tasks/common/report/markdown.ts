/**
 * The run summary as GitHub-flavoured markdown, readable in the Azure DevOps run summary
 * (`##vso[task.uploadsummary]`): a header line with the result, a resources table, a checks
 * table and the fixes of failed checks. Table cells escape `|` and flatten newlines.
 */
import type { Action, CheckStatus, Report, ReportCheck, ResourceStatus } from './model';

const ACTION_ICON: Record<Action, string> = { create: '➕', update: '✏️', delete: '➖', unchanged: '✔️', skip: '⏭️' };
const STATUS_TEXT: Record<ResourceStatus, string> = {
  planned: 'planned',
  applied: 'applied',
  unchanged: 'no change',
  failed: '❌ failed',
  'not-run': 'not run',
};
const CHECK_ICON: Record<CheckStatus, string> = { pass: '✅ pass', warn: '⚠️ warn', fail: '❌ fail', skip: '⏭️ skip' };
const RESULT_ICON: Record<string, string> = { Succeeded: '✅', SucceededWithIssues: '⚠️', Failed: '❌' };

/**
 * Escapes only what CommonMark/GFM would otherwise read as markup, so ordinary text (`>`, `\`
 * before a letter, `[platform]\Team`, `a_b_c`) reaches the page as it is: the Azure DevOps run
 * summary shows HTML entities and backslash escapes literally in places, so none is spent where
 * none is needed. Escaped: `|` (a table cell's end), `` ` `` and `*` (code, emphasis), `_` at a
 * word boundary, `\` before ASCII punctuation, `[`/`]` that could open or close a link, `<` that
 * could open a tag or an autolink, and `&` that would start an entity.
 */
function escapeWords(text: string): string {
  return (
    text
      .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
      .replace(/[|`]|~(?=~)/g, (c) => `\\${c}`)
      // A run of `*` between spaces (the *** of a masked secret) opens no emphasis: left as it is.
      .replace(/\*+/g, (run: string, at: number, all: string) =>
        /^\s?$/.test(all.charAt(at - 1)) && /^\s?$/.test(all.charAt(at + run.length)) ? run : run.replace(/\*/g, '\\*'),
      )
      // A run of `_` at a word boundary can open or close emphasis, but only with a partner: one alone (`/_git/`) stays.
      .replace(/_+/g, (run: string, at: number, all: string) => {
        const edge = (k: number): boolean => !/[A-Za-z0-9]/.test(all.charAt(k) || ' ');
        const boundary = (a: number, n: number): boolean => edge(a - 1) || edge(a + n);
        const runs = [...all.matchAll(/_+/g)].filter((m) => boundary(m.index, m[0].length)).length;
        return runs > 1 && boundary(at, run.length) ? run.replace(/_/g, '\\_') : run;
      })
      .replace(/\[(?=[^\]]*\]\s*[([:])|\](?=\s*[([:])/g, (c) => `\\${c}`)
      .replace(/&(?=#?[A-Za-z0-9]+;)/g, '&amp;')
      .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
  );
}

/** A URL, up to a space, a bracket or trailing punctuation. */
const URL_RE = /https?:\/\/[^\s<>|()[\]`]*[^\s<>|()[\]`.,;:!?'"]/g;

/** escapeWords, with URLs as CommonMark autolinks (`<https://…>`): shown as written, nothing escaped inside. */
function escapeText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    out += `${escapeWords(text.slice(last, m.index))}<${m[0]}>`;
    last = m.index + m[0].length;
  }
  return out + escapeWords(text.slice(last));
}

/** A table cell: markup escaped (see escapeText), newlines turned into `<br>`. */
export function cell(text: string | undefined): string {
  if (text === undefined || text === '') return '';
  return text.split(/\r?\n/).map(escapeText).join('<br>');
}

/** Inline text outside tables: one line, markup escaped. */
function inline(text: string): string {
  return escapeText(text.replace(/\r?\n/g, ' '));
}

/** A paragraph of its own: inline, and a leading `#`, `>`, `-`, `+`, `=` or `1.` kept from starting a block. */
function paragraph(text: string): string {
  return inline(text).replace(/^(\s*)([#>+=-]|\d+[.)])/, (_m, sp: string, c: string) =>
    /^\d/.test(c) ? `${sp}${c.slice(0, -1)}\\${c.slice(-1)}` : `${sp}\\${c}`,
  );
}

function changesCell(changes: Report['resources'][number]['changes']): string {
  return changes
    .map((c) => `${c.field}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'}`)
    .map(cell)
    .join('<br>');
}

/** A resources table under `title`, with how many change; nothing when there are none. */
function resourcesSection(resources: Report['resources'], mode: Report['mode'], title: string): string[] {
  if (resources.length === 0) return [];
  const changed = resources.filter((r) => r.action !== 'unchanged' && r.action !== 'skip').length;
  const out = [
    `#### ${title} (${changed} ${mode === 'plan' ? 'to change' : 'changed or failed'}, ${resources.length - changed} unchanged)`,
    '',
    '| | Action | Kind | Name | Changes | Status | Note |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of resources) {
    out.push(
      `| ${ACTION_ICON[r.action]} | ${r.action} | ${cell(r.kind)} | ${cell(r.name)} | ${changesCell(r.changes)} | ${STATUS_TEXT[r.status]} | ${cell(r.note)} |`,
    );
  }
  out.push('');
  return out;
}

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  const result = report.result ?? 'in progress';
  const icon = RESULT_ICON[result] ?? '⏳';
  out.push(`### ${icon} ${inline(report.task)} ${inline(report.version)}: ${result} (${report.mode})`);
  out.push('');
  if (report.message) out.push(paragraph(report.message), '');

  out.push(...resourcesSection(report.resources, report.mode, 'Resources'));

  out.push(...checksSection(report.checks, report.clusters?.length ? 'Clusters' : 'Checks'));
  for (const c of report.clusters ?? []) {
    out.push(
      ...checksSection(
        c.checks,
        `${CHECK_ICON[c.verdict]}: cluster ${inline(c.name)} (resource group ${inline(c.resourceGroup)})`,
      ),
    );
    out.push(...resourcesSection(c.resources ?? [], report.mode, `Resources of cluster ${inline(c.name)}`));
  }

  const outputs = Object.entries(report.outputs);
  if (outputs.length > 0) {
    out.push('#### Outputs', '', '| Variable | Value |', '|---|---|');
    for (const [k, v] of outputs) out.push(`| ${cell(k)} | ${cell(v)} |`);
    out.push('');
  }

  if (report.errors.length > 0) {
    out.push('#### Errors', '');
    for (const e of report.errors) out.push(`- ${inline(e)}`);
    out.push('');
  }
  if (report.warnings.length > 0) {
    out.push('#### Warnings', '');
    for (const w of report.warnings) out.push(`- ${inline(w)}`);
    out.push('');
  }
  return out.join('\n');
}

/** A checks table under a heading, then the causes and fixes of what failed or warned. */
function checksSection(checks: ReportCheck[], heading: string): string[] {
  if (checks.length === 0) return [];
  const out = [`#### ${heading}`, '', '| Status | Check | Evidence |', '|---|---|---|'];
  for (const c of checks) out.push(`| ${CHECK_ICON[c.status]} | ${cell(c.title)} | ${cell(c.evidence)} |`);
  out.push('');
  const actionable = checks.filter((c) => (c.status === 'fail' || c.status === 'warn') && (c.cause || c.fix));
  if (actionable.length > 0) {
    out.push('#### How to fix', '');
    for (const c of actionable) {
      out.push(`- **${inline(c.title)}** (${c.status})${c.cause ? `: ${inline(c.cause)}` : ''}`);
      if (c.fix) out.push(`  - Fix: ${inline(c.fix)}`);
    }
    out.push('');
  }
  return out;
}

export function toJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
