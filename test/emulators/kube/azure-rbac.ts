/**
 * Azure RBAC for Kubernetes authorization (AKS with `aadProfile.enableAzureRBAC`): when Kubernetes
 * RBAC does not allow a request of an Entra principal, the authorization webhook checks the
 * principal's Azure role assignments for the request's data action at the cluster scope or at
 * `{clusterId}/namespaces/{namespace}` (https://learn.microsoft.com/azure/aks/manage-azure-rbac,
 * https://learn.microsoft.com/azure/aks/concepts-identity#azure-rbac-for-kubernetes-authorization).
 *
 * Data actions are `Microsoft.ContainerService/managedClusters/{group/}{resource}/{read|write|delete}`
 * as listed under Microsoft.ContainerService in
 * https://learn.microsoft.com/azure/role-based-access-control/permissions/containers: get/list/watch
 * read, create/update/patch write, delete/deletecollection delete, other verbs `{verb}/action`
 * (`serviceaccounts/impersonate/action`, `users/impersonate/action`, `groups/impersonate/action`);
 * pods/exec and pods/attach are `pods/exec/action`; any other subresource is its resource's action
 * (a TokenRequest is `serviceaccounts/write`).
 */
import { isAuthorized } from '../azure/arm/rbac';
import type { AzureState } from '../azure/model';
import type { Attributes, UserInfo } from './rbac';

const AKS = 'Microsoft.ContainerService/managedClusters';

export function dataAction(a: Attributes): string {
  const base = `${AKS}/${a.group ? `${a.group}/` : ''}${a.resource}`;
  if (a.resource === 'pods' && (a.subresource === 'exec' || a.subresource === 'attach')) return `${base}/exec/action`;
  switch (a.verb) {
    case 'get':
    case 'list':
    case 'watch':
      return `${base}/read`;
    case 'create':
    case 'update':
    case 'patch':
      return `${base}/write`;
    case 'delete':
    case 'deletecollection':
      return `${base}/delete`;
    default:
      return `${base}/${a.verb}/action`;
  }
}

/** True when an Azure role assignment of the caller grants the request's data action. */
export function azureRbacAllows(azure: AzureState, clusterId: string, user: UserInfo, a: Attributes): boolean {
  if (!user.entraObjectId) return false;
  const scope = a.namespace ? `${clusterId}/namespaces/${a.namespace}` : clusterId;
  return isAuthorized(azure, user.entraObjectId, dataAction(a), scope, { data: true });
}
