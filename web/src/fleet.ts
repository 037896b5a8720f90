/**
 * The fleet view of a run that covered several clusters (FluxOidcVerify with clusters or
 * clusterPattern; `Report.clusters`): a grid of clusters × checks, each cell pass / warn / fail,
 * every row and cell a link to the cluster's card below it, which lists that cluster's checks with
 * their evidence, cause and fix. Pure DOM building from the report, like render.ts.
 */
import type { Report, ReportCheck, ReportCluster } from '../../tasks/common/report/model';
import { h, plural, type Child } from './dom';
import { checkLabel, type Label } from './text';

/** What the fleet view borrows from the card renderer (passed in, so the modules do not import each other). */
export interface FleetParts {
  badge(doc: Document, label: Label, extraClass?: string): HTMLSpanElement;
  checkItem(doc: Document, c: ReportCheck): HTMLLIElement;
}

interface Column {
  id: string;
  title: string;
}

/** The checks as columns: every check id of any cluster, in first-seen order. */
export function fleetColumns(clusters: readonly ReportCluster[]): Column[] {
  const seen = new Map<string, Column>();
  for (const c of clusters) for (const k of c.checks) if (!seen.has(k.id)) seen.set(k.id, { id: k.id, title: k.title });
  return [...seen.values()];
}

const VERDICT: Record<ReportCluster['verdict'], string> = { pass: 'passed', warn: 'warned', fail: 'failed' };

function anchor(id: string, index: number): string {
  return `${id}-cluster-${index + 1}`;
}

function header(doc: Document, columns: Column[]): HTMLTableSectionElement {
  return h(
    doc,
    'thead',
    null,
    h(
      doc,
      'tr',
      null,
      h(doc, 'th', { scope: 'col', class: 'fleet-grid__corner' }, 'Cluster'),
      columns.map((col) =>
        h(doc, 'th', { scope: 'col', class: 'fleet-grid__check', title: col.title }, h(doc, 'span', null, col.title)),
      ),
    ),
  );
}

function row(doc: Document, c: ReportCluster, columns: Column[], href: string, parts: FleetParts): HTMLTableRowElement {
  const verdict = checkLabel(c.verdict);
  return h(
    doc,
    'tr',
    { class: `fleet-grid__row fleet-grid__row--${verdict.tone}` },
    h(
      doc,
      'th',
      { scope: 'row', class: 'fleet-grid__cluster' },
      h(doc, 'a', { href }, c.name),
      ' ',
      parts.badge(doc, verdict),
    ),
    columns.map((col) => {
      const check = c.checks.find((k) => k.id === col.id);
      if (!check) return h(doc, 'td', { class: 'cell cell--none', title: `${col.title}: not run` }, '–');
      const label = checkLabel(check.status);
      return h(
        doc,
        'td',
        { class: `cell cell--${label.tone}`, title: `${c.name}: ${col.title}: ${label.text}` },
        h(doc, 'a', { href, 'aria-label': `${c.name}, ${col.title}: ${label.text}` }, label.text),
      );
    }),
  );
}

/** One cluster's card: its verdict, resource group, and every check (failed ones with cause and fix). */
function clusterCard(doc: Document, c: ReportCluster, id: string, parts: FleetParts): HTMLElement {
  const failing = c.checks.filter((k) => k.status === 'fail' || k.status === 'warn');
  return h(
    doc,
    'section',
    {
      class: `cluster-card cluster-card--${checkLabel(c.verdict).tone}`,
      id,
      'aria-labelledby': `${id}-title`,
      tabindex: -1,
    },
    h(
      doc,
      'h4',
      { id: `${id}-title`, class: 'cluster-card__title' },
      parts.badge(doc, checkLabel(c.verdict)),
      ' ',
      c.name,
      h(doc, 'span', { class: 'cluster-card__where' }, ` resource group ${c.resourceGroup}`),
    ),
    failing.length
      ? h(
          doc,
          'dl',
          { class: 'cause-fix' },
          failing.flatMap((k): Child[] => [
            h(doc, 'dt', null, k.title),
            h(doc, 'dd', { class: 'cause' }, k.cause ?? ''),
            k.fix ? h(doc, 'dd', { class: 'fix' }, `Fix: ${k.fix}`) : null,
          ]),
        )
      : null,
    h(
      doc,
      'ul',
      { class: 'checks' },
      c.checks.map((k) => parts.checkItem(doc, k)),
    ),
  );
}

/** The fleet section of a card; null unless the run covered two clusters or more. */
export function fleetSection(doc: Document, r: Report, id: string, parts: FleetParts): HTMLElement | null {
  const clusters = r.clusters ?? [];
  if (clusters.length < 2) return null;
  const columns = fleetColumns(clusters);
  const counts = (['pass', 'warn', 'fail'] as const)
    .map((v) => [clusters.filter((c) => c.verdict === v).length, VERDICT[v]] as const)
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`);
  return h(
    doc,
    'section',
    { class: 'section fleet', 'aria-labelledby': `${id}-fleet` },
    h(doc, 'h3', { id: `${id}-fleet` }, `Fleet: ${plural(clusters.length, 'cluster')}`),
    h(doc, 'p', { class: 'summary' }, counts.join(' · ')),
    h(
      doc,
      'div',
      { class: 'fleet-grid__scroll' },
      h(
        doc,
        'table',
        { class: 'fleet-grid' },
        h(doc, 'caption', null, 'Clusters × checks: select a cluster or a cell for its checks, causes and fixes'),
        header(doc, columns),
        h(
          doc,
          'tbody',
          null,
          clusters.map((c, i) => row(doc, c, columns, `#${anchor(id, i)}`, parts)),
        ),
      ),
    ),
    clusters.map((c, i) => clusterCard(doc, c, anchor(id, i), parts)),
  );
}
