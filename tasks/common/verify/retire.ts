/**
 * retireStaticCredentials: once every check passed, the Git secret the bootstrap created (named
 * after the GitRepository, `flux-system`, holding an SSH key or a PAT) is no longer used. It is
 * deleted only when the GitRepository no longer references it, no other Flux object in the
 * namespace references it (secret references are namespace-local), and it is not itself applied
 * from Git (then kustomize-controller would re-create it: remove it from the repository instead).
 */
import type { KubeClient } from '../kube/client';
import { FLUX_KINDS, type FluxObject } from '../kube/model';
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
  plan: boolean;
}

export async function retireStaticCredentials(o: RetireOptions): Promise<CheckResult> {
  const name = o.gitRepositoryName;
  const base = {
    id: 'cleanup.retire-static-credentials',
    group: 'cleanup' as const,
    title: `Retire the static Git secret ${o.namespace}/${name}`,
  };
  if (o.blockingChecks.length > 0) {
    return {
      ...base,
      status: 'skip',
      evidence: [
        `not retired: ${o.blockingChecks.length} check(s) did not pass (${o.blockingChecks.join(', ')}); the old secret stays as the fallback`,
      ],
    };
  }
  const secret = await o.kube.getSecret(o.namespace, name);
  if (!secret)
    return { ...base, status: 'pass', evidence: [`secret ${o.namespace}/${name}: not present, nothing to retire`] };
  const keys = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) });
  const evidence = [`secret ${o.namespace}/${name} with keys ${keys.join(', ') || '(none)'}`];
  if (!keys.some((k) => GIT_SECRET_KEYS.includes(k))) {
    return {
      ...base,
      status: 'skip',
      evidence: [...evidence, 'not a Git credential secret (no identity/password/bearerToken key); left alone'],
    };
  }
  const managedBy = secret.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name'];
  if (managedBy) {
    return {
      ...base,
      status: 'warn',
      evidence: [
        ...evidence,
        `applied from Git by Kustomization ${secret.metadata?.labels?.['kustomize.toolkit.fluxcd.io/namespace'] ?? o.namespace}/${managedBy}`,
      ],
      cause: 'the secret is part of the repository: deleting it in the cluster would only have it re-created',
      fix: 'remove the secret from the repository (and rotate the credential it holds)',
    };
  }
  const refs: string[] = [];
  for (const k of Object.values(FLUX_KINDS)) {
    let items: FluxObject[];
    try {
      items = await o.kube.listFluxObjects(k, o.namespace);
    } catch {
      // A kind this user may not list: be safe and refuse below unless we could read everything.
      refs.push(`${k.kind} (cannot be listed)`);
      continue;
    }
    for (const item of items)
      for (const p of secretReferences(item.spec, name)) refs.push(`${item.kind}/${item.metadata.name} ${p}`);
  }
  if (refs.length > 0) {
    return {
      ...base,
      status: 'warn',
      evidence: [...evidence, ...refs.map((r) => `still referenced: ${r}`)],
      cause: 'other Flux objects still use the secret (or could not be checked)',
      fix: 'move those objects to workload identity (or their own secret) first, then re-run with retireStaticCredentials: true',
    };
  }
  if (o.plan)
    return {
      ...base,
      status: 'skip',
      evidence: [...evidence, 'no Flux object references it', `plan: apply would delete secret ${o.namespace}/${name}`],
    };
  await o.kube.deleteSecret(o.namespace, name);
  return {
    ...base,
    status: 'pass',
    evidence: [
      ...evidence,
      'no Flux object references it',
      `deleted secret ${o.namespace}/${name}; revoke the deploy key / PAT it held in Azure DevOps`,
    ],
  };
}
