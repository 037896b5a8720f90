/**
 * The whole emulated cloud as one state document (YAML on disk, live objects in memory). Each
 * section belongs to the service folder that serves it; `startCloud` loads, validates and dumps it.
 */
import type { AzureState } from './azure/model';
import type { DevOpsState } from './devops/model';
import type { KubeState } from './kube/model';
import type { FaultRule } from './core/faults';

export interface CloudState {
  /** Entra ID tenant, subscriptions, resource groups, role assignments, identities, AKS clusters. */
  azure: AzureState;
  /** The Azure DevOps organization: projects, repos (seeded from folders), teams, members, licences, ACLs, service connections. */
  devops: DevOpsState;
  /** What runs inside each AKS cluster: Kubernetes objects and the Flux installation. */
  kube: KubeState;
  /** Fault rules active from the start (per service and route; see core/faults.ts). */
  faults?: FaultRule[];
  /** Seed of the fault probabilities (overridden by startCloud's `seed` option). */
  seed?: number;
}

/** A state document or scenario name that cannot be used; the message names each field and its fix. */
export class StateError extends Error {}
