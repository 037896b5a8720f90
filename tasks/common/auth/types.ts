import type { TokenCredential } from '@azure/identity';
import type { HttpClient, ProxySettings } from '@azure/core-rest-pipeline';
import type { Logger } from '../log';
import type { RetryPolicy } from '../http/retry';

/** The Azure DevOps resource (application id) and the scope to ask Entra ID for. */
export const DEVOPS_RESOURCE_ID = '499b84ac-1321-427f-aa17-267ca6975798';
export const DEVOPS_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default' as const;

/**
 * A service connection as the agent hands it to a task (ENDPOINT_URL_/ENDPOINT_AUTH_/ENDPOINT_DATA_<id>).
 * Keys are case-insensitive, as they are for the agent. Plain values, so auth/ never sees task-lib.
 */
export interface ServiceEndpoint {
  id: string;
  /** ENDPOINT_URL_<id>: for AzureRM, the Resource Manager URL. */
  url?: string;
  /** ENDPOINT_AUTH_SCHEME_<id> (or the scheme inside ENDPOINT_AUTH_<id>). */
  scheme?: string;
  /** An authorization parameter (serviceprincipalid, tenantid, serviceprincipalkey, ...). */
  auth(key: string): string | undefined;
  /** A data parameter (subscriptionId, environment, environmentAuthorityUrl, ...). */
  data(key: string): string | undefined;
}

/** The agent's proxy (task-lib getHttpProxyConfiguration). */
export interface ProxyConfig {
  url: string;
  username?: string;
  password?: string;
  /** Host patterns (regular expressions, as the agent stores them) that bypass the proxy. */
  bypass?: string[];
}

export type AuthScheme = 'WorkloadIdentityFederation' | 'ServicePrincipal' | 'ManagedServiceIdentity';

export interface AzureCloud {
  /** AzureCloud, AzureUSGovernment, AzureChinaCloud, or the connection's own environment name. */
  name: string;
  /** Entra ID authority host, e.g. https://login.microsoftonline.com (no trailing slash). */
  authorityHost: string;
  /** Resource Manager endpoint, e.g. https://management.azure.com (no trailing slash). */
  resourceManagerUrl: string;
  /** Scope for ARM tokens, e.g. https://management.azure.com/.default. */
  armScope: string;
}

/** An AzureRM service connection, resolved: who it is, where its cloud is, and a credential. */
export interface AzureConnection {
  id: string;
  name?: string;
  scheme: AuthScheme;
  tenantId: string;
  /** The service principal's / managed identity's client (application) id. */
  clientId: string;
  subscriptionId: string;
  credential: TokenCredential;
  cloud: AzureCloud;
  devopsScope: typeof DEVOPS_SCOPE;
  /**
   * Options for every Azure SDK ARM client, so sovereign/custom clouds and the agent proxy apply:
   * `new ManagedServiceIdentityClient(conn.credential, conn.subscriptionId, conn.armClientOptions)`.
   */
  armClientOptions: { endpoint: string; credentialScopes: string[]; proxyOptions?: ProxySettings };
}

/** What auth/ needs from the job, as plain values. */
export interface AuthEnvironment {
  log: Logger;
  /** System.OidcRequestUri (SYSTEM_OIDCREQUESTURI); required for WorkloadIdentityFederation. */
  oidcRequestUri?: string;
  /** The job's access token (System.AccessToken); called per OIDC request, may throw when unavailable. */
  systemAccessToken: () => string;
  proxy?: ProxyConfig;
  /** Used by the OIDC request and by every credential; tests inject a stub here. */
  httpClient?: HttpClient;
  /** The run's retry policy: the OIDC request and every credential's token requests run under it. */
  retry?: RetryPolicy;
}
