/**
 * The one sentence a finished run leads with (the result message of a run that did not fail):
 * what happened, in the user's words, from the report itself. A failed run's message is its error.
 *
 *   apply: "Updated cluster rg-fleet/aks-prod and created managed identity rg-fleet/flux-aks-prod,
 *           2 federated credentials and team AKS Managed Identities Team."
 *   patch: "Patched clusters/prod/flux-system/kustomization.yaml and pushed commit d0f5402 to main."
 *   verify: "All 27 checks passed: Flux's service-account token reads the repository through Entra ID."
 *   plan:  "Plan: apply would update cluster rg-fleet/aks-prod and create 2 federated credentials; nothing was changed."
 */
import type { Report, ReportResource } from './model';

/** Kind -> [one, many] in words; unknown kinds are shown as they are. */
const KIND_WORDS: Record<string, [string, string]> = {
  ManagedCluster: ['cluster', 'clusters'],
  UserAssignedIdentity: ['managed identity', 'managed identities'],
  FederatedIdentityCredential: ['federated credential', 'federated credentials'],
  OrganizationUser: ['organization user', 'organization users'],
  Team: ['team', 'teams'],
  TeamMembership: ['team membership', 'team memberships'],
  RepositoryPermission: ['repository permission', 'repository permissions'],
  GitRepository: ['GitRepository', 'GitRepositories'],
  File: ['file', 'files'],
  GitPush: ['push', 'pushes'],
  PullRequest: ['pull request', 'pull requests'],
};

const VERB: Record<string, [past: string, plan: string]> = {
  create: ['created', 'create'],
  update: ['updated', 'update'],
  delete: ['deleted', 'delete'],
};

/** "a, b and c" */
export function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "cluster rg-fleet/aks-prod" for one, "2 federated credentials" for several of a kind. */
function things(resources: ReportResource[]): string[] {
  const byKind = new Map<string, ReportResource[]>();
  for (const r of resources) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  return [...byKind].map(([kind, rs]) => {
    const [one, many] = KIND_WORDS[kind] ?? [kind, kind];
    return rs.length === 1 ? `${one} ${rs[0].name}` : `${rs.length} ${many}`;
  });
}

/** "updated X and created Y, Z" (apply) or "update X and create Y" (plan), in create/update/delete order. */
function changes(resources: ReportResource[], tense: 0 | 1): string {
  const parts: string[] = [];
  for (const action of ['update', 'create', 'delete'] as const) {
    const rs = resources.filter((r) => r.action === action);
    if (rs.length) parts.push(`${VERB[action][tense]} ${listWords(things(rs))}`);
  }
  return listWords(parts);
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function withWarnings(sentence: string, r: Report): string {
  const n = r.checks.filter((c) => c.status === 'warn').length + r.warnings.length;
  return n ? `${sentence.replace(/\.$/, '')} (${n} warning${n === 1 ? '' : 's'}: see Needs attention).` : sentence;
}

function patchSentence(r: Report, applied: ReportResource[]): string | undefined {
  const files = r.resources.filter((x) => x.kind === 'File' && x.action !== 'unchanged' && x.action !== 'skip');
  if (!files.length) {
    return r.task === 'FluxManifestPatch'
      ? `${r.mode === 'plan' ? 'Plan: the' : 'The'} flux-system folder already carries the workload identity patches; nothing to ${r.mode === 'plan' ? 'change' : 'commit'}.`
      : undefined;
  }
  const what = files.length === 1 ? files[0].name : `${files.length} files`;
  if (r.mode === 'plan') return `Plan: apply would patch ${what}; nothing was changed.`;
  const pr = r.outputs.pullRequestId;
  if (pr)
    return `Patched ${what} and opened pull request ${pr}${r.outputs.pullRequestUrl ? ` (${r.outputs.pullRequestUrl})` : ''}.`;
  const commit = r.outputs.commitId;
  const push = applied.find((x) => x.kind === 'GitPush');
  if (commit)
    return `Patched ${what} and pushed commit ${commit.slice(0, 7)}${push ? ` to ${push.name.replace(/^refs\/heads\//, '')}` : ''}.`;
  return `Patched ${what} in the checkout (not committed).`;
}

function checksSentence(r: Report): string {
  const counted = r.checks.filter((c) => c.status !== 'skip');
  const proof = r.checks.some((c) => c.id.startsWith('token.proof') && c.status === 'pass');
  const retired = r.checks.find((c) => c.id === 'cleanup.retire-static-credentials' && c.status === 'pass');
  const retiredText = retired && /deleted/i.test(retired.evidence ?? '') ? '; the old Git secret was deleted' : '';
  return `${counted.length === 1 ? 'The one check' : `All ${counted.length} checks`} passed${
    proof ? ": Flux's service-account token reads the repository through Entra ID" : ''
  }${retiredText}.`;
}

/** The sentence for a run that did not fail. */
export function outcomeSentence(r: Report): string {
  const moving = r.resources.filter((x) => x.action in VERB);
  const applied = moving.filter((x) => x.status === 'applied');
  const patch = patchSentence(r, applied);
  let sentence: string;
  if (patch) sentence = patch;
  else if (r.task === 'FluxOidcVerify' && r.checks.some((c) => c.status !== 'skip')) {
    // A gate: what the checks found leads; the writes it made (reconcile requests, the retired secret) follow.
    const verdict =
      r.mode === 'plan' ? `Plan: ${checksSentence(r).replace(/^A/, 'a').replace(/^The/, 'the')}` : checksSentence(r);
    sentence = applied.length ? `${verdict.replace(/\.$/, '')}. ${cap(changes(applied, 0))}.` : verdict;
  } else if (r.mode === 'plan') {
    sentence = moving.length
      ? `Plan: apply would ${changes(moving, 1)}; nothing was changed.`
      : r.resources.length
        ? `Plan: all ${count(r.resources.length, 'resource')} already as desired; apply would change nothing.`
        : r.checks.some((c) => c.status !== 'skip')
          ? `Plan: ${checksSentence(r).replace(/^A/, 'a').replace(/^The/, 'the')}`
          : 'Plan: apply would change nothing.';
  } else if (applied.length) sentence = `${cap(changes(applied, 0))}.`;
  else if (r.resources.length)
    sentence = `Everything was already in place (${count(r.resources.length, 'resource')}); nothing was written.`;
  else if (r.checks.some((c) => c.status !== 'skip')) sentence = checksSentence(r);
  else sentence = 'Finished; there was nothing to do.';
  return withWarnings(sentence, r);
}
