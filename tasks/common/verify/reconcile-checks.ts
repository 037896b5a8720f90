/**
 * Reconcile results: GitRepository (artifact revision), Kustomization (applied revision) and any
 * ImageUpdateAutomation, each mapped from its Ready condition; a failure message is explained.
 */
import type { CheckResult, FederatedCredentialFacts, IdentityFacts, ReconcileFacts, VerifyTarget } from './model';
import { IMAGE_AUTOMATION_SA, SOURCE_SA } from './model';
import { fixContext } from './azure-checks';
import { explainFailure } from './causes';

export interface ReconcileCheckContext {
  identity: IdentityFacts | null;
  issuerUrl?: string;
  federatedCredentials?: FederatedCredentialFacts[];
  /** plan mode: describe what apply would do. */
  plan: boolean;
}

const CONTROLLER: Record<ReconcileFacts['kind'], string> = {
  GitRepository: SOURCE_SA,
  Kustomization: 'kustomize-controller',
  ImageUpdateAutomation: IMAGE_AUTOMATION_SA,
};

export function reconcileChecks(facts: ReconcileFacts[], t: VerifyTarget, ctx: ReconcileCheckContext): CheckResult[] {
  return facts.map((r) => reconcileCheck(r, t, ctx));
}

function idOf(r: ReconcileFacts): string {
  return r.kind === 'GitRepository'
    ? 'reconcile.git-repository'
    : r.kind === 'Kustomization'
      ? 'reconcile.kustomization'
      : `reconcile.image-update-automation:${r.name}`;
}

function reconcileCheck(r: ReconcileFacts, t: VerifyTarget, ctx: ReconcileCheckContext): CheckResult {
  const base = { id: idOf(r), group: 'reconcile' as const, title: `${r.kind} ${t.fluxNamespace}/${r.name} Ready` };
  if (r.outcome === 'missing') {
    return {
      ...base,
      status: 'fail',
      evidence: [`${r.kind} ${t.fluxNamespace}/${r.name}: not found`],
      cause: `the ${r.kind} does not exist`,
      fix: `check the ${r.kind === 'Kustomization' ? 'kustomizationName' : 'gitRepositoryName'} input`,
    };
  }
  const evidence: string[] = [];
  if (r.requested)
    evidence.push(`requested reconcile (reconcile.fluxcd.io/requestedAt), waited ${r.waitedSeconds ?? 0}s`);
  if (r.note) evidence.push(r.note);
  if (!r.requested && !r.note && ctx.plan)
    evidence.push(
      `plan: apply would request a reconcile (annotate reconcile.fluxcd.io/requestedAt) and wait for Ready`,
    );
  else if (!r.requested && !r.note) evidence.push('no reconcile requested (reconcile: false); current status');
  const c = r.ready;
  evidence.push(
    c ? `Ready=${c.status}${c.reason ? ` (${c.reason})` : ''}: ${c.message ?? ''}`.trim() : 'no Ready condition yet',
  );
  const current = r.outcome === 'ready' || c?.status === 'True';
  if (r.revision)
    evidence.push(
      `${r.kind === 'Kustomization' ? 'last applied revision' : 'artifact revision'}${current ? '' : ' (from an earlier reconcile)'}: ${r.revision}`,
    );
  if (r.lastPushCommit) evidence.push(`last push ${r.lastPushCommit}${r.lastPushTime ? ` at ${r.lastPushTime}` : ''}`);

  if (r.outcome === 'ready' || (r.outcome === 'not-requested' && c?.status === 'True'))
    return { ...base, status: 'pass', evidence };
  const fc = {
    ...fixContext(t, ctx.identity?.name),
    controller: CONTROLLER[r.kind],
    issuerUrl: ctx.issuerUrl,
    federatedCredentials: ctx.federatedCredentials,
  };
  if (r.outcome === 'timeout' || (r.outcome === 'not-requested' && c?.status !== 'False')) {
    const why = c?.message ? explainFailure(c.message, fc) : undefined;
    return {
      ...base,
      status: r.outcome === 'timeout' ? 'fail' : 'warn',
      evidence,
      cause:
        r.outcome === 'timeout'
          ? `not Ready within timeoutSeconds (waited ${r.waitedSeconds ?? 0}s)${why ? `: ${why.cause}` : ''}`
          : 'not Ready yet',
      fix:
        why?.fix ??
        `kubectl -n ${t.fluxNamespace} describe ${r.kind.toLowerCase()} ${r.name}; raise timeoutSeconds if the controller is just slow`,
      ...(why?.implicates ? { implicates: why.implicates } : {}),
      ...(why?.fixByCheck ? { fixByCheck: why.fixByCheck } : {}),
    };
  }
  const why = c?.message ? explainFailure(c.message, fc) : undefined;
  return {
    ...base,
    status: 'fail',
    evidence,
    cause: why ? `${why.cause} [${why.code}]` : `the ${r.kind} is not Ready${c?.reason ? ` (${c.reason})` : ''}`,
    fix: why?.fix ?? `kubectl -n ${t.fluxNamespace} describe ${r.kind.toLowerCase()} ${r.name}`,
    ...(why?.implicates ? { implicates: why.implicates } : {}),
    ...(why?.fixByCheck ? { fixByCheck: why.fixByCheck } : {}),
  };
}
