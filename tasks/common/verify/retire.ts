/**
 * retireStaticCredentials: once every check passed, the Git secret the bootstrap created (named
 * after the GitRepository, `flux-system`, holding an SSH key or a PAT) is no longer used. It is
 * deleted only when the GitRepository no longer references it, no other Flux object in the
 * namespace references it (secret references are namespace-local), and it is not itself applied
 * from Git (then kustomize-controller would re-create it: remove it from the repository instead).
 * The deletion is a plan step: plan mode shows it and writes nothing.
 */
import type { KubeClient } from '../kube/client';
import { FLUX_KINDS, type FluxObject } from '../kube/model';
import type { Logger } from '../log';
import { runSteps, type Step } from '../plan';
import type { ReportBuilder } from '../report/builder';
import type { Mode } from '../report/model';
import type { CheckResult } from './model';

/** Paths inside `spec` that name `secret` (any `…secretRef`/`…SecretRef` object, or `{kind: Secret, name}`). */
export function secretReferences(spec: unknown, secret: string, path = 'spec'): string[] {
  const out: string[] = [];
  if (Array.isArray(spec)) {
    spec.forEach((v, i) => out.push(...secretReferences(v, secret, `${path}[${i}]`)));
  } else if (spec && typeof spec === 'object') {
    const o = spec as Record<string, unknown>;
    if (o.kind === 'Secret' && o.name === secret) out.push(path);
    for (const [k, v] of Object.entries(o)) {
      if (/secretref$/i.test(k) && v && typeof v === 'object' && (v as { name?: unknown }).name === secret)
        out.push(`${path}.${k}`);
      else out.push(...secretReferences(v, secret, `${path}.${k}`));
    }
  }
  return out;
}

const GIT_SECRET_KEYS = ['identity', 'identity.pub', 'known_hosts', 'username', 'password', 'bearerToken'];

export interface RetireOptions {
  kube: KubeClient;
  namespace: string;
  gitRepositoryName: string;
  /** Failed (or, with failOn warning, warned) checks: nothing is deleted when any. */
  blockingChecks: string[];
  /** plan: observe and show the deletion, write nothing. */
  mode: Mode;
  log: Logger;
  report?: ReportBuilder;
}

type Base = Pick<CheckResult, 'id' | 'group' | 'title'>;

/** What the step observed: the check to report when nothing is to be deleted, else the evidence for the deletion. */
type Observed = { verdict: CheckResult } | { evidence: string[] };

/** Reads the secret and every Flux object that could reference it; decides whether it may go. */
async function observeSecret(o: RetireOptions, base: Base): Promise<Observed> {
  const name = o.gitRepositoryName;
  if (o.blockingChecks.length > 0) {
    const why = `not retired: ${o.blockingChecks.length} check(s) did not pass (${o.blockingChecks.join(', ')}); the old secret stays as the fallback`;
    return { verdict: { ...base, status: 'skip', evidence: [why] } };
  }
  const secret = await o.kube.getSecret(o.namespace, name);
  if (!secret)
    return {
      verdict: { ...base, status: 'pass', evidence: [`secret ${o.namespace}/${name}: not present, nothing to retire`] },
    };
  const keys = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) });
  const evidence = [`secret ${o.namespace}/${name} with keys ${keys.join(', ') || '(none)'}`];
  if (!keys.some((k) => GIT_SECRET_KEYS.includes(k))) {
    const why = 'not a Git credential secret (no identity/password/bearerToken key); left alone';
    return { verdict: { ...base, status: 'skip', evidence: [...evidence, why] } };
  }
  const managedBy = secret.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name'];
  if (managedBy) {
    const ns = secret.metadata?.labels?.['kustomize.toolkit.fluxcd.io/namespace'] ?? o.namespace;
    return {
      verdict: {
        ...base,
        status: 'warn',
        evidence: [...evidence, `applied from Git by Kustomization ${ns}/${managedBy}`],
        cause: 'the secret is part of the repository: deleting it in the cluster would only have it re-created',
        fix: 'remove the secret from the repository (and rotate the credential it holds)',
      },
    };
  }
  const refs = await referencesTo(o.kube, o.namespace, name);
  if (refs.length > 0) {
    return {
      verdict: {
        ...base,
        status: 'warn',
        evidence: [...evidence, ...refs.map((r) => `still referenced: ${r}`)],
        cause: 'other Flux objects still use the secret (or could not be checked)',
        fix: 'move those objects to workload identity (or their own secret) first, then re-run with retireStaticCredentials: true',
      },
    };
  }
  return { evidence: [...evidence, 'no Flux object references it'] };
}

/** Every Flux object in the namespace that names the secret (a kind that cannot be listed counts as one). */
async function referencesTo(kube: KubeClient, namespace: string, name: string): Promise<string[]> {
  const refs: string[] = [];
  for (const k of Object.values(FLUX_KINDS)) {
    let items: FluxObject[];
    try {
      items = await kube.listFluxObjects(k, namespace);
    } catch {
      // A kind this user may not list: be safe and refuse unless we could read everything.
      refs.push(`${k.kind} (cannot be listed)`);
      continue;
    }
    for (const item of items)
      for (const p of secretReferences(item.spec, name)) refs.push(`${item.kind}/${item.metadata.name} ${p}`);
  }
  return refs;
}

/** The deletion as a plan step (tasks/common/plan): plan mode shows it and deletes nothing. */
export async function retireStaticCredentials(o: RetireOptions): Promise<CheckResult> {
  const name = o.gitRepositoryName;
  const base: Base = {
    id: 'cleanup.retire-static-credentials',
    group: 'cleanup',
    title: `Retire the static Git secret ${o.namespace}/${name}`,
  };
  let deleted = false;
  const step: Step<Observed> = {
    id: 'retire:Secret',
    kind: 'Secret',
    name: `${o.namespace}/${name}`,
    observe: () => observeSecret(o, base),
    plan: (obs) =>
      'verdict' in obs
        ? { action: 'skip', changes: [], note: obs.verdict.evidence[obs.verdict.evidence.length - 1] }
        : { action: 'delete', changes: [{ field: 'secret', from: name }], note: 'no Flux object references it' },
    apply: async () => {
      await o.kube.deleteSecret(o.namespace, name);
      deleted = true;
    },
  };
  const run = await runSteps([step as Step<unknown>], {
    mode: o.mode,
    log: o.log,
    ...(o.report ? { report: o.report } : {}),
  });
  const obs = run.planned[0].observed as Observed;
  if ('verdict' in obs) return obs.verdict;
  const done = deleted
    ? `deleted secret ${o.namespace}/${name}; revoke the deploy key / PAT it held in Azure DevOps`
    : `plan: apply would delete secret ${o.namespace}/${name}`;
  return { ...base, status: deleted ? 'pass' : 'skip', evidence: [...obs.evidence, done] };
}
