/**
 * Verify's conclusions held against each other and against what the cluster really runs, after
 * every check ran. A fix must never make things worse:
 *
 * - a fix that changes a live resource which a passed check (or the cluster itself) shows correct
 *   is replaced by advice about the input that disagrees with it;
 * - a cause that implicates a check which passed is not the cause: it is reworded to say so and to
 *   point at what is left;
 * - inputs are checked against the cluster: service accounts no Flux controller runs as, a Flux
 *   namespace where no Flux runs, a GitRepository that syncs another branch than the pipeline's.
 */
import { closest, controllerServiceAccounts, otherFluxNamespaces, type FluxReality } from '../kube/flux-reality';
import type { CheckResult, FederatedCredentialFacts, GitRepositoryFacts, VerifyTarget } from './model';
import { expectedSubject } from './model';

export interface ConsistencyFacts {
  reality?: FluxReality;
  gitRepository?: GitRepositoryFacts | null;
  federatedCredentials?: FederatedCredentialFacts[];
  /** The URL provider azure needs for this target (said when a "not found" cannot be a permission). */
  expectedRepoUrl?: string;
}

const isFail = (c: CheckResult) => c.status === 'fail' || c.status === 'warn';
const bare = (b: string) => b.replace(/^refs\/heads\//, '');

/** Resources shown correct: by passed checks, and credentials whose subject names a ServiceAccount a Flux controller runs as. */
function confirmedResources(checks: CheckResult[], f: ConsistencyFacts): Map<string, string> {
  const why = new Map<string, string>();
  for (const c of checks)
    if (c.status === 'pass') for (const r of c.confirms ?? []) why.set(r, `the check '${c.title}' passed`);
  for (const ctl of f.reality?.controllers ?? []) {
    const subject = expectedSubject(ctl.namespace, ctl.serviceAccount);
    for (const fic of f.federatedCredentials ?? [])
      if (fic.subject === subject && !why.has(`fic:${fic.name}`))
        why.set(
          `fic:${fic.name}`,
          `its subject ${subject} is the ServiceAccount the ${ctl.namespace}/${ctl.name} controller runs as`,
        );
  }
  return why;
}

function inputChecks(t: VerifyTarget, f: ConsistencyFacts): CheckResult[] {
  const r = f.reality;
  if (!r) return [];
  const out: CheckResult[] = [];
  const others = otherFluxNamespaces(r);
  if (others) {
    out.push({
      id: 'cluster.flux-namespace',
      group: 'cluster',
      title: `Flux runs in namespace ${t.fluxNamespace}`,
      status: 'fail',
      evidence: (r.controllers ?? []).map((c) => `${c.namespace}/${c.name} runs as ${c.serviceAccount}`),
      cause: `the fluxNamespace input is wrong: no Flux controller runs in ${t.fluxNamespace}; Flux runs in ${others.join(', ')}`,
      fix: `set fluxNamespace: ${others[0]} on this task and on FluxOidcProvision (the federated credentials' subjects name the namespace), then re-run`,
    });
    return out;
  }
  const controllers = controllerServiceAccounts(r);
  if (!r.serviceAccounts || controllers.length === 0) return out;
  for (const sa of t.serviceAccounts) {
    if (r.serviceAccounts.includes(sa) || controllers.includes(sa)) continue;
    const guess = closest(sa, controllers);
    out.push({
      id: `cluster.service-account-input:${sa}`,
      group: 'cluster',
      title: `ServiceAccount ${t.fluxNamespace}/${sa} exists`,
      status: 'fail',
      evidence: [
        `ServiceAccounts in ${t.fluxNamespace}: ${r.serviceAccounts.join(', ') || '(none)'}`,
        `Flux controllers there run as: ${controllers.join(', ')}`,
      ],
      cause: `the serviceAccounts input is wrong: it names '${sa}', but no ServiceAccount '${sa}' exists in ${t.fluxNamespace} and no Flux controller runs as it`,
      fix: `correct the serviceAccounts input${guess ? ` (did you mean '${guess}'?)` : ''}: the Flux controllers run as ${controllers.join(', ')}`,
    });
  }
  return out;
}

/** The input check that explains a failed check about `sa`, when the input is what is wrong. */
function inputBlame(c: CheckResult, blamed: CheckResult[]): CheckResult | undefined {
  const ns = blamed.find((b) => b.id === 'cluster.flux-namespace');
  if (ns) return c.group === 'devops' ? undefined : ns;
  return blamed.find((b) => c.id.endsWith(`:${b.id.split(':')[1]}`));
}

export function makeConsistent(checks: CheckResult[], t: VerifyTarget, f: ConsistencyFacts): CheckResult[] {
  const added = inputChecks(t, f);
  const all = [...checks, ...added];
  const confirmed = confirmedResources(all, f);
  const byId = new Map(all.map((c) => [c.id, c]));
  const synced = f.gitRepository?.branch;
  const branchDiffers = !!synced && !!t.pipelineBranch && bare(synced) !== bare(t.pipelineBranch);

  for (const c of checks) {
    if (!isFail(c)) continue;
    // 1. The input disagrees with the cluster: say so, and change nothing live.
    const blame = inputBlame(c, added);
    if (blame) {
      c.cause = `${c.cause ?? 'failed'} (judged against an input the cluster contradicts: ${blame.cause})`;
      c.fix = blame.fix;
      delete c.fixChanges;
      continue;
    }
    // 2. Never change a resource shown correct.
    const spared = (c.fixChanges ?? []).filter((r) => confirmed.has(r));
    if (spared.length > 0) {
      const reasons = spared.map((r) => `${r.replace(/^fic:/, 'credential ')} (${confirmed.get(r)})`).join('; ');
      c.fix = `leave ${reasons} as it is; check the serviceAccounts and fluxNamespace inputs against the cluster (kubectl get deployments -A -l app.kubernetes.io/part-of=flux -o custom-columns=NS:.metadata.namespace,SA:.spec.template.spec.serviceAccountName), and create a credential only for a ServiceAccount a Flux controller runs as (FluxOidcProvision)`;
      c.fixChanges = (c.fixChanges ?? []).filter((r) => !confirmed.has(r));
    }
    // 3. A cause whose implicated checks all passed is not the cause.
    const implicated = (c.implicates ?? []).map((id) => byId.get(id)).filter((x): x is CheckResult => !!x);
    if (implicated.length > 0 && implicated.every((x) => x.status === 'pass')) {
      const titles = implicated.map((x) => `'${x.title}'`).join(' and ');
      const notFound = (c.implicates ?? []).includes('devops.read');
      c.cause = `not what the error usually means (${c.cause ?? 'failed'}): ${titles} passed${
        notFound
          ? ': Azure DevOps answers "does not exist or you do not have permissions" for a URL that names no repository the identity can read, so the organization, project or repository in the URL Flux uses is wrong (a name with spaces or non-ASCII characters encoded differently, for one)'
          : ''
      }`;
      c.fix = notFound
        ? `compare the GitRepository's spec.url with ${f.expectedRepoUrl ?? 'https://dev.azure.com/{org}/{project}/_git/{repo}'} (kubectl -n ${t.fluxNamespace} get gitrepository ${t.gitRepositoryName} -o jsonpath='{.spec.url}'); FluxManifestPatch writes that form`
        : `compare the evidence of ${titles} with this failure; if a change was made minutes ago, re-run once it has propagated`;
    }
    // 3b. Some implicated checks passed: keep only the advice for those that did not.
    else if (c.fixByCheck && implicated.some((x) => x.status === 'pass')) {
      const parts = Object.entries(c.fixByCheck)
        .filter(([id]) => byId.get(id)?.status !== 'pass')
        .map(([, fix]) => fix);
      if (parts.length > 0) c.fix = parts.join('; and ');
    }
    // 4. Fixes that re-run FluxManifestPatch on the wrong branch would change nothing.
    if (branchDiffers && /run FluxManifestPatch/.test(c.fix ?? '')) {
      c.cause =
        `Flux syncs branch ${bare(synced)} (GitRepository ${t.gitRepositoryName} spec.ref.branch), not this pipeline's branch ${bare(t.pipelineBranch!)}: patches committed to ${bare(t.pipelineBranch!)} never reach the cluster. ${c.cause ?? ''}`.trim();
      c.fix = (c.fix ?? '').replace(
        /run FluxManifestPatch( \([^)]*\))?/,
        (m) => `${m} with targetBranch: ${bare(synced)} (or branchMismatch: useSyncedBranch)`,
      );
    }
  }
  return all;
}
