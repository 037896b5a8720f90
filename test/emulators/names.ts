/**
 * The names and ids of the built-in scenarios. Samples, docs, tests and anyone's test pipelines rely
 * on them (issue: "`fresh` uses these names"), so they live in one place.
 */
export const FRESH = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  tenantDomain: 'contoso.onmicrosoft.com',
  subscriptionId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590',
  subscriptionName: 'Fleet Production',
  resourceGroup: 'rg-fleet',
  location: 'westeurope',
  clusterName: 'aks-prod',
  /** The uuid in the cluster's OIDC issuer URL once the issuer is enabled. */
  clusterIssuerId: '3f2b0c1e-6a4d-4f0e-9f5e-2c7d8a1b9e40',
  kubernetesVersion: '1.32.4',
  fluxVersion: '2.4.0',
  fluxNamespace: 'flux-system',
  clusterPath: 'clusters/prod',
  organization: 'contoso',
  organizationId: 'a0c4b7b2-5f31-4c8e-9d77-1e0f4c2b6a11',
  project: 'platform',
  projectId: '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c',
  repository: 'fleet',
  repositoryId: '5febef5a-833d-4e14-b9c0-14cb638f91e6',
  branch: 'main',
  /** The AzureRM service connection (workload identity federation). */
  serviceConnectionName: 'azure-prod',
  serviceConnectionId: '1f0c5a56-7d5b-4b43-8a8f-3c2f4f0c9d21',
  /** Its Entra app registration / service principal. */
  serviceConnectionAppId: 'b3a1c9d2-8e4f-4a6b-9c0d-1e2f3a4b5c6d',
  serviceConnectionObjectId: 'c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f',
  /** Defaults of FluxOidcProvision for this cluster. */
  identityName: 'flux-aks-prod',
  teamName: 'AKS Managed Identities Team',
} as const;

/** Issuer of the Azure DevOps service-connection OIDC tokens (legacy vstoken form: `…/{organizationId}`). */
export function devopsIssuerUrl(devopsIssuerHost: string, organizationId: string): string {
  return `${devopsIssuerHost}/${organizationId}`;
}

/** An AKS OIDC issuer URL: `https://{host}/{tenantId}/{uuid}/`, with the trailing slash AKS has. */
export function aksIssuerUrl(aksIssuerHost: string, tenantId: string, issuerId: string): string {
  return `${aksIssuerHost}/${tenantId}/${issuerId}/`;
}

export const AZURE_DEVOPS_RESOURCE_ID = '499b84ac-1321-427f-aa17-267ca6975798';
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const GIT_SECURITY_NAMESPACE = '2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87';
