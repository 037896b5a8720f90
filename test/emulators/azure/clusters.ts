/**
 * AKS cluster lookups shared with the Kubernetes emulator (test/emulators/kube/): the cluster's ARM
 * resource id (the key of ctx.kube.kubeconfig / clusterUpdated) and its OIDC issuer URL.
 */
import type { CloudContext } from '../core/context';
import { aksIssuerUrl } from '../names';
import type { AzureState, ClusterState, ResourceGroupState, SubscriptionState } from './model';

/** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}` (names as in the state). */
export function clusterResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`;
}

export interface LocatedCluster {
  subscription: SubscriptionState;
  resourceGroup: ResourceGroupState;
  cluster: ClusterState;
  id: string;
}

/** Every cluster in the state with its resource id. */
export function allClusters(azure: AzureState): LocatedCluster[] {
  return azure.subscriptions.flatMap((subscription) =>
    subscription.resourceGroups.flatMap((resourceGroup) =>
      resourceGroup.clusters.map((cluster) => ({
        subscription,
        resourceGroup,
        cluster,
        id: clusterResourceId(subscription.id, resourceGroup.name, cluster.name),
      })),
    ),
  );
}

/** Finds a cluster by resource id (case-insensitive). */
export function findCluster(azure: AzureState, resourceId: string): LocatedCluster | undefined {
  const want = resourceId.replace(/\/+$/, '').toLowerCase();
  return allClusters(azure).find((c) => c.id.toLowerCase() === want);
}

/** The issuer URL a cluster publishes while its OIDC issuer is enabled (undefined when off). */
export function clusterIssuerUrl(ctx: CloudContext, cluster: ClusterState): string | undefined {
  if (!cluster.oidcIssuer.enabled) return undefined;
  if (cluster.oidcIssuer.issuerUrl) return cluster.oidcIssuer.issuerUrl;
  if (!cluster.oidcIssuer.issuerId) return undefined;
  return aksIssuerUrl(ctx.urls['aks-issuer'], ctx.state.azure.tenant.id, cluster.oidcIssuer.issuerId);
}
