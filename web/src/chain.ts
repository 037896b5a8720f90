/**
 * The chain at a glance, at the top of the tab: Azure -> Entra ID -> Azure DevOps -> cluster -> Flux,
 * each link green (passed), amber (a warning, or in plan mode a change apply would make), red (a
 * check or a write failed) or grey (not checked in this run). Each link points at what decided its
 * colour: the first failing (or warning) check's cause and fix in its card, else the card's checks.
 *
 * The link of a check comes from its id (the task's own prefixes: `azure.`, `devops.`, `cluster.`,
 * `token.`, `reconcile.`, …); the link of a resource from its kind.
 */
import type { Report, ReportCheck, ReportResource } from '../../tasks/common/report/model';
import { h } from './dom';

export type LinkId = 'azure' | 'entra' | 'devops' | 'cluster' | 'flux';
export type LinkState = 'fail' | 'warn' | 'pass' | 'none';

export const LINKS: { id: LinkId; name: string; what: string }[] = [
  { id: 'azure', name: 'Azure', what: 'cluster OIDC issuer, workload identity, managed identity' },
  { id: 'entra', name: 'Entra ID', what: 'federated credentials and the token exchange' },
  { id: 'devops', name: 'Azure DevOps', what: 'organization, licence, team and repository rights' },
  { id: 'cluster', name: 'Cluster', what: 'service accounts, pod labels, workload identity in the pods' },
  { id: 'flux', name: 'Flux', what: 'flux-system manifests, GitRepository and Kustomization' },
];

/**
 * Which link a check is about (undefined: none of the five, e.g. an input check). The token proof
 * crosses two links: Entra's exchange (an AADSTS error) or Azure DevOps reading the repository.
 */
export function linkOfCheck(c: Pick<ReportCheck, 'id' | 'status' | 'evidence' | 'cause'>): LinkId | undefined {
  const id = c.id;
  if (id.startsWith('token.proof') && c.status === 'fail')
    return /AADSTS|Entra rejected|Entra refused/.test(`${c.evidence ?? ''}\n${c.cause ?? ''}`) ? 'entra' : 'devops';
  if (/^(azure\.federated-credential|azure\.fic-budget|federated-credential|token\.proof)/.test(id)) return 'entra';
  if (/^(azure\.|cluster-features$|identity$|cluster$)/.test(id)) return 'azure';
  if (/^(devops[.-]|token\.contribute|repository-deny$|least-privilege$)/.test(id)) return 'devops';
  if (/^cluster\.(service-account|pod-template|pods|object-level-identity)/.test(id)) return 'cluster';
  if (/^(cluster\.|reconcile\.|cleanup\.|kustomize-render$|commit$|pullRequest$)/.test(id)) return 'flux';
  return undefined;
}

const RESOURCE_LINK: Record<string, LinkId> = {
  ManagedCluster: 'azure',
  UserAssignedIdentity: 'azure',
  FederatedIdentityCredential: 'entra',
  OrganizationUser: 'devops',
  Team: 'devops',
  TeamMembership: 'devops',
  RepositoryPermission: 'devops',
  kubeconfig: 'cluster',
  File: 'flux',
  GitPush: 'flux',
  PullRequest: 'flux',
  GitRepository: 'flux',
};

/** Where a task's failure lands when no check or resource says (an error thrown before any). */
const TASK_LINK: Record<string, LinkId> = {
  FluxOidcProvision: 'azure',
  FluxManifestPatch: 'flux',
  FluxOidcVerify: 'cluster',
};

export interface LinkVerdict {
  id: LinkId;
  name: string;
  state: LinkState;
  /** One line: what decided the state. */
  detail: string;
  /** `#…` of the element that shows it. */
  href?: string;
}

interface Finding {
  state: Exclude<LinkState, 'none'>;
  detail: string;
  href: string;
}

const RANK: Record<LinkState, number> = { fail: 3, warn: 2, pass: 1, none: 0 };

function checkFinding(c: ReportCheck, run: string, index: number): Finding | undefined {
  const target = `#${run}-check-${index + 1}`;
  if (c.status === 'fail') return { state: 'fail', detail: `${c.title}: failed`, href: target };
  if (c.status === 'warn') return { state: 'warn', detail: `${c.title}: needs attention`, href: target };
  if (c.status === 'pass') return { state: 'pass', detail: c.title, href: `#${run}-checks` };
  return undefined;
}

function resourceFinding(res: ReportResource, r: Report, run: string): Finding {
  const what = `${res.kind} ${res.name}`;
  const href = `#${run}-resources`;
  if (res.status === 'failed') return { state: 'fail', detail: `${what}: the write failed`, href };
  if (r.mode === 'plan' && (res.action === 'create' || res.action === 'update' || res.action === 'delete'))
    return { state: 'warn', detail: `${what}: apply would ${res.action} it`, href };
  return { state: 'pass', detail: `${what}: ${res.status === 'applied' ? `${res.action}d` : 'as desired'}`, href };
}

/** "7 checks passed · 3 created" over every report, for a link with nothing wrong. */
function passDetail(reports: Report[], link: LinkId): string {
  let checks = 0;
  const words = new Map<string, number>();
  for (const r of reports) {
    checks += r.checks.filter((c) => c.status === 'pass' && linkOfCheck(c) === link).length;
    for (const res of r.resources.filter((x) => RESOURCE_LINK[x.kind] === link)) {
      const word = res.status === 'applied' ? `${res.action}d` : 'as desired';
      words.set(word, (words.get(word) ?? 0) + 1);
    }
  }
  const parts = checks ? [`${checks} check${checks === 1 ? '' : 's'} passed`] : [];
  for (const [word, n] of words) parts.push(`${n} ${word}`);
  return parts.join(' · ');
}

/** Every report's findings per link; the worst (first of equals) decides the link. */
export function chainVerdict(reports: Report[]): LinkVerdict[] {
  const best = new Map<LinkId, Finding>();
  const note = (link: LinkId | undefined, f: Finding | undefined): void => {
    if (!link || !f) return;
    const had = best.get(link);
    if (!had || RANK[f.state] > RANK[had.state]) best.set(link, f);
  };
  reports.forEach((r, i) => {
    const run = `run-${i + 1}`;
    r.checks.forEach((c, k) => note(linkOfCheck(c), checkFinding(c, run, k)));
    for (const res of r.resources) note(RESOURCE_LINK[res.kind], resourceFinding(res, r, run));
    const explained = r.checks.some((c) => c.status === 'fail') || r.resources.some((x) => x.status === 'failed');
    if (r.result === 'Failed' && !explained)
      note(TASK_LINK[r.task] ?? 'azure', {
        state: 'fail',
        detail: `${r.task} failed: ${(r.message ?? r.errors[0] ?? 'see its card').split('\n')[0]}`,
        href: `#${run}-why`,
      });
  });
  return LINKS.map((l) => {
    const f = best.get(l.id);
    const detail = f?.state === 'pass' ? passDetail(reports, l.id) : f?.detail;
    return f
      ? { id: l.id, name: l.name, state: f.state, detail: detail ?? f.detail, href: f.href }
      : { id: l.id, name: l.name, state: 'none', detail: `not checked in this run (${l.what})` };
  });
}

const STATE_WORD: Record<LinkState, string> = {
  fail: 'broken',
  warn: 'needs attention',
  pass: 'OK',
  none: 'not checked',
};

/** The strip of five links; each is a link to the check (or card part) that decided it. */
export function renderChain(reports: Report[], doc: Document): HTMLElement {
  const verdicts = chainVerdict(reports);
  const broken = verdicts.find((v) => v.state === 'fail');
  return h(
    doc,
    'nav',
    { class: 'chain', 'aria-label': 'The chain at a glance' },
    h(
      doc,
      'p',
      { class: 'chain__headline' },
      broken
        ? `The chain breaks at ${broken.name}.`
        : verdicts.some((v) => v.state === 'warn')
          ? 'The chain holds, with something to look at.'
          : verdicts.every((v) => v.state === 'pass')
            ? 'The chain holds: Azure → Entra ID → Azure DevOps → cluster → Flux.'
            : 'The chain, as far as this run checked it.',
    ),
    h(
      doc,
      'ol',
      { class: 'chain__links' },
      verdicts.map((v) => {
        const body = [
          h(doc, 'span', { class: 'chain__name' }, v.name),
          h(doc, 'span', { class: 'chain__state' }, STATE_WORD[v.state]),
          h(doc, 'span', { class: 'chain__detail' }, v.detail),
        ];
        return h(
          doc,
          'li',
          { class: `chain__link chain__link--${v.state}`, 'data-link': v.id },
          v.href
            ? h(doc, 'a', { href: v.href, title: v.detail }, body)
            : h(doc, 'span', { class: 'chain__static' }, body),
        );
      }),
    ),
  );
}
