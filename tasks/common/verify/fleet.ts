/**
 * Verify of several clusters in one step: which clusters (a list, or a name pattern over resource
 * groups), bounded parallelism, and how the per-cluster outcomes add up to one verdict.
 * Pure apart from `resolveFleet`, which lists clusters through ARM.
 */
import type { ArmClients } from '../azure/clients';
import { describeArmError } from '../azure/errors';
import { UserError } from '../errors';
import type { CheckResult } from './model';

export interface ClusterRef {
  resourceGroup: string;
  name: string;
}

/** `clusters` (a list) or `pattern` over `resourceGroups`. */
export interface FleetSpec {
  clusters?: ClusterRef[];
  pattern?: string;
  resourceGroups: string[];
}

export type Verdict = 'pass' | 'warn' | 'fail';

/** `aks-staging-*` -> a case-insensitive whole-name regex (`*` any characters, `?` one). */
export function namePattern(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** The clusters to verify: the list as given (duplicates dropped), or every match of the pattern. */
export async function resolveFleet(arm: ArmClients, spec: FleetSpec): Promise<ClusterRef[]> {
  if (spec.clusters) {
    const seen = new Set<string>();
    return spec.clusters.filter((c) => {
      const key = `${c.resourceGroup}/${c.name}`.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  const re = namePattern(spec.pattern ?? '*');
  const found: ClusterRef[] = [];
  const all: string[] = [];
  for (const rg of spec.resourceGroups) {
    try {
      for await (const c of arm.aks.managedClusters.listByResourceGroup(rg)) {
        if (!c.name) continue;
        all.push(c.name);
        if (re.test(c.name)) found.push({ resourceGroup: rg, name: c.name });
      }
    } catch (err) {
      throw describeArmError(err, {
        action: `list the AKS clusters of the resource group '${rg}'`,
        role: 'Reader',
        scope: `the resource group '${rg}'`,
        input: 'resourceGroups',
      });
    }
  }
  if (found.length === 0) {
    throw new UserError(
      `No AKS cluster in ${spec.resourceGroups.map((r) => `'${r}'`).join(', ')} matches clusterPattern '${spec.pattern}'.`,
      {
        code: 'NoClusterMatches',
        cause: all.length
          ? `the clusters there are: ${all.slice(0, 20).join(', ')}`
          : 'the resource groups hold no cluster',
        fix: 'check clusterPattern (`*` matches any characters) and resourceGroups',
      },
    );
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Runs `fn` over `items` with at most `limit` at a time; results in the items' order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** A cluster's verdict: fail when a blocking check failed, warn when any check warned, else pass. */
export function verdictOf(checks: readonly CheckResult[], failedChecks: readonly string[]): Verdict {
  if (failedChecks.length > 0 || checks.some((c) => c.status === 'fail')) return 'fail';
  if (checks.some((c) => c.status === 'warn')) return 'warn';
  return 'pass';
}

/** `aks-dev-weu` -> `aks_dev_weu`: the suffix of a per-cluster output variable (`verified_aks_dev_weu`). */
export function outputSuffix(clusterName: string): string {
  return clusterName.replace(/[^A-Za-z0-9_]/g, '_');
}
