/**
 * Explains an API server refusal (403 Forbidden, 401 Unauthorized) by the cluster's kind of access,
 * with the fix the README's "Rights the service connection needs" section documents:
 * - Kubernetes RBAC (Entra-integrated clusters): bind the least-privilege ClusterRole
 *   `flux-oidc-verify` to the connection's object id in the Flux namespace;
 * - Azure RBAC for Kubernetes authorization: assign the `Flux OIDC Verify` custom role at the Flux
 *   namespace of the cluster (or bind the ClusterRole: Kubernetes RBAC applies there too);
 * - local accounts: the user kubeconfig is cluster-admin, so a refusal comes from a Kubernetes
 *   service connection's own identity.
 */
import type { ClusterAuthorization } from '../azure/cluster';
import { sh } from './fixes';

export interface AccessContext {
  authorization?: ClusterAuthorization;
  /** ARM id of the cluster (the Azure RBAC scope). */
  clusterId?: string;
  fluxNamespace: string;
  /** True when a Kubernetes service connection (not the AKS credentials) reached the cluster. */
  kubernetesServiceConnection?: boolean;
}

export interface AccessExplanation {
  cause: string;
  fix: string;
}

const ROLE = 'flux-oidc-verify';
const AZURE_ROLE = 'Flux OIDC Verify';
const README = 'README, "Rights the service connection needs"';

/** `… is forbidden: User "u" cannot verb resource "r" in API group "g" in the namespace "n"` (Kubernetes' Forbidden text). */
function parseForbidden(message: string): { user: string; verb: string; resource: string; group: string } | undefined {
  const m = /User "([^"]*)" cannot (\S+) resource "([^"]*)" in API group "([^"]*)"/.exec(message);
  return m ? { user: m[1]!, verb: m[2]!, resource: m[3]!, group: m[4]! } : undefined;
}

/** undefined when the status is neither 401 nor 403. */
export function explainAccess(status: number, message: string, ctx: AccessContext): AccessExplanation | undefined {
  if (status === 401) {
    return {
      cause:
        ctx.authorization === 'local' && !ctx.kubernetesServiceConnection
          ? 'the API server did not accept the AKS credentials'
          : 'the API server did not accept the credentials (an Entra token is accepted only by a cluster with Microsoft Entra integration, for the AKS server application)',
      fix: ctx.kubernetesServiceConnection
        ? 'renew the token or kubeconfig of the Kubernetes service connection'
        : 'check that the cluster has Microsoft Entra integration (az aks show --query aadProfile) or use a Kubernetes service connection',
    };
  }
  if (status !== 403) return undefined;
  const f = parseForbidden(message);
  const what = f ? `${f.verb} ${f.group ? `${f.resource}.${f.group}` : f.resource}` : 'make this call';
  const user = f?.user ?? '<object id of the service connection>';
  const ns = ctx.fluxNamespace;
  const binding = `kubectl create rolebinding ${ROLE} -n ${sh(ns)} --clusterrole ${ROLE} --user ${sh(user)} (the ClusterRole is in the ${README})`;
  if (ctx.kubernetesServiceConnection || ctx.authorization === 'local') {
    return {
      cause: `the cluster's RBAC does not let ${user} ${what} in namespace ${ns}`,
      fix: `bind the least-privilege ClusterRole ${ROLE} to that user or service account: ${binding}`,
    };
  }
  if (ctx.authorization === 'azure-rbac') {
    const scope = ctx.clusterId ? `${ctx.clusterId}/namespaces/${ns}` : `<cluster id>/namespaces/${ns}`;
    return {
      cause: `neither Azure RBAC nor Kubernetes RBAC lets the service connection (object id ${user}) ${what} in namespace ${ns}`,
      fix: `az role assignment create --assignee-object-id ${sh(user)} --assignee-principal-type ServicePrincipal --role ${sh(AZURE_ROLE)} --scope ${sh(scope)} (the custom role is in the ${README}), or ${binding}`,
    };
  }
  return {
    cause: `the cluster's Kubernetes RBAC does not let the service connection (Entra object id ${user}) ${what} in namespace ${ns}`,
    fix: binding,
  };
}
