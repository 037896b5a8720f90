/**
 * Gives the service connection's principal Kubernetes' built-in `view` ClusterRole on the emulated
 * cluster (a ClusterRoleBinding), as a platform team does when it wants FluxOidcProvision and
 * FluxOidcVerify to compare their inputs with the Flux controllers that really run (that check reads
 * Deployments and ServiceAccounts in every namespace; without the right it is skipped, see README).
 */
import type { Cloud } from '../emulators/cloud';
import { kubeRuntime } from '../emulators/kube/index';
import type { KubeObject } from '../emulators/kube/model';
import { FRESH } from '../emulators/names';

const RBAC = 'rbac.authorization.k8s.io';

export function grantClusterView(cloud: Cloud, clusterName: string = FRESH.clusterName): void {
  const store = kubeRuntime(cloud.ctx).cluster(clusterName)!.store;
  const def = store.byKind(RBAC, 'ClusterRoleBinding')!;
  if (store.get(def, undefined, 'flux-oidc-view')) return;
  const binding: KubeObject = {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'flux-oidc-view' },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' },
    subjects: [{ apiGroup: RBAC, kind: 'User', name: FRESH.serviceConnectionObjectId }],
  };
  store.create(def, binding);
}

/** Binds a ClusterRole to the service connection's principal in one namespace (a RoleBinding), as the README says. */
export function bindClusterRoleIn(
  cloud: Cloud,
  role: string,
  namespace: string = FRESH.fluxNamespace,
  clusterName: string = FRESH.clusterName,
): void {
  const store = kubeRuntime(cloud.ctx).cluster(clusterName)!.store;
  const def = store.byKind(RBAC, 'RoleBinding')!;
  if (store.get(def, namespace, role)) return;
  const binding: KubeObject = {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name: role, namespace },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: RBAC, kind: 'User', name: FRESH.serviceConnectionObjectId }],
  };
  store.create(def, binding);
}
