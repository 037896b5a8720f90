/**
 * An AKS cluster's kubeconfig (listClusterUserCredential / listClusterAdminCredential), as
 * `az aks get-credentials [--admin]` fetches it. Through the SDK clients, so retry and the
 * connection's cloud settings apply. The kubeconfig is a secret: callers never log or store it.
 */
import { UserError } from '../errors';
import type { ArmClients } from './clients';
import { describeArmError } from './errors';

/** The cluster's kubeconfig (YAML text). */
export async function clusterKubeconfig(
  clients: ArmClients,
  resourceGroup: string,
  clusterName: string,
  kind: 'user' | 'admin',
): Promise<string> {
  let result;
  try {
    result =
      kind === 'admin'
        ? await clients.aks.managedClusters.listClusterAdminCredentials(resourceGroup, clusterName)
        : await clients.aks.managedClusters.listClusterUserCredentials(resourceGroup, clusterName);
  } catch (err) {
    throw describeArmError(err, {
      action: `read the ${kind} credentials of the AKS cluster '${clusterName}'`,
      role:
        kind === 'admin' ? 'Azure Kubernetes Service Cluster Admin Role' : 'Azure Kubernetes Service Cluster User Role',
      scope: `the cluster '${clusterName}'`,
      input: 'clusterCredentials',
    });
  }
  const value = result.kubeconfigs?.[0]?.value;
  if (!value) {
    throw new UserError(`AKS returned no ${kind} kubeconfig for the cluster '${clusterName}'.`, {
      code: 'NoKubeconfig',
      fix:
        kind === 'admin'
          ? 'local accounts may be disabled on the cluster: use clusterCredentials: user or a Kubernetes service connection'
          : 'use a Kubernetes service connection',
    });
  }
  return Buffer.from(value).toString('utf8');
}
