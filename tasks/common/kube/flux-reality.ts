/**
 * What the cluster really runs, for checking inputs against it: the ServiceAccounts of the Flux
 * namespace and the Flux controllers of the whole cluster (which namespace, which ServiceAccount).
 * Each part is undefined when it could not be read (RBAC, no access): callers then say so instead
 * of guessing.
 */
import type { KubeClient } from './client';
import { editDistance } from '../text';

export interface FluxController {
  namespace: string;
  name: string;
  serviceAccount: string;
}

export interface FluxReality {
  namespace: string;
  /** ServiceAccounts in `namespace`. */
  serviceAccounts?: string[];
  /** Flux controllers in any namespace. */
  controllers?: FluxController[];
  /** Why a part could not be read. */
  problems: string[];
}

export async function readFluxReality(kube: KubeClient, namespace: string): Promise<FluxReality> {
  const r: FluxReality = { namespace, problems: [] };
  const why = (err: unknown) => (err instanceof Error ? err.message : String(err));
  await Promise.all([
    kube.listServiceAccountNames(namespace).then(
      (v) => (r.serviceAccounts = v),
      (err: unknown) => r.problems.push(`ServiceAccounts of ${namespace}: ${why(err)}`),
    ),
    kube.listFluxControllers().then(
      (v) => (r.controllers = v),
      (err: unknown) => r.problems.push(`Flux controllers: ${why(err)}`),
    ),
  ]);
  return r;
}

/** Namespaces where Flux controllers run, when none runs in the given one (the input is then wrong). */
export function otherFluxNamespaces(r: FluxReality): string[] | undefined {
  if (!r.controllers || r.controllers.length === 0) return undefined;
  if (r.controllers.some((c) => c.namespace === r.namespace)) return undefined;
  return [...new Set(r.controllers.map((c) => c.namespace))].sort();
}

/** The ServiceAccounts the Flux controllers of `namespace` run as. */
export function controllerServiceAccounts(r: FluxReality): string[] {
  return [
    ...new Set((r.controllers ?? []).filter((c) => c.namespace === r.namespace).map((c) => c.serviceAccount)),
  ].sort();
}

/** The closest name within a few edits, for "did you mean …". */
export function closest(name: string, candidates: string[]): string | undefined {
  const scored = candidates
    .map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= 4);
  scored.sort((a, b) => a.d - b.d);
  return scored[0]?.c;
}
