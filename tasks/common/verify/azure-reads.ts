/**
 * ARM reads Verify needs that tasks/common/azure/ does not have: an identity by its clientId (the
 * `clientId` input) and the cluster's kubeconfig (listClusterUserCredential /
 * listClusterAdminCredential). Through the same SDK clients, so retry and cloud settings apply.
 */
import type { ArmClients } from '../azure/clients';
import { describeArmError } from '../azure/errors';
import type { IdentityState } from '../azure/identity';
import { UserError } from '../report/errors';

/** The user-assigned identity in `resourceGroup` whose clientId is `clientId`, if any. */
export async function findIdentityByClientId(clients: ArmClients, resourceGroup: string, clientId: string): Promise<IdentityState | undefined> {
  try {
    for await (const i of clients.msi.userAssignedIdentities.listByResourceGroup(resourceGroup)) {
      if (i.clientId?.toLowerCase() === clientId.toLowerCase()) {
        return { id: i.id ?? '', name: i.name ?? '', location: i.location, clientId: i.clientId, principalId: i.principalId ?? '', tenantId: i.tenantId ?? '' };
      }
    }
  } catch (err) {
    throw describeArmError(err, { action: `list the managed identities in resource group '${resourceGroup}'`, role: 'Reader', scope: `the resource group '${resourceGroup}'`, input: 'identityResourceGroup' });
  }
  return undefined;
}

/** The cluster's kubeconfig (YAML text) as `az aks get-credentials [--admin]` would fetch it. */
export async function clusterKubeconfig(clients: ArmClients, resourceGroup: string, clusterName: string, kind: 'user' | 'admin'): Promise<string> {
  let result;
  try {
    result = kind === 'admin'
      ? await clients.aks.managedClusters.listClusterAdminCredentials(resourceGroup, clusterName)
      : await clients.aks.managedClusters.listClusterUserCredentials(resourceGroup, clusterName);
  } catch (err) {
    throw describeArmError(err, {
      action: `read the ${kind} credentials of the AKS cluster '${clusterName}'`,
      role: kind === 'admin' ? 'Azure Kubernetes Service Cluster Admin Role' : 'Azure Kubernetes Service Cluster User Role',
      scope: `the cluster '${clusterName}'`, input: 'clusterCredentials',
    });
  }
  const value = result.kubeconfigs?.[0]?.value;
  if (!value) {
    throw new UserError(`AKS returned no ${kind} kubeconfig for the cluster '${clusterName}'.`, {
      code: 'NoKubeconfig',
      fix: kind === 'admin' ? 'local accounts may be disabled on the cluster: use clusterCredentials: user or a Kubernetes service connection' : 'use a Kubernetes service connection',
    });
  }
  return Buffer.from(value).toString('utf8');
}
