/**
 * From an AzureRM service connection to an @azure/identity TokenCredential.
 *
 *  WorkloadIdentityFederation  ClientAssertionCredential; the assertion is a fresh OIDC token per exchange
 *  ServicePrincipal            ClientSecretCredential (spnKey) or ClientCertificateCredential (spnCertificate, PEM)
 *  ManagedServiceIdentity      ManagedIdentityCredential (msiclientId when set, else system-assigned)
 *
 * Every credential gets the connection's authority host, `disableInstanceDiscovery` (instance
 * discovery would call login.microsoftonline.com whatever the cloud) and the agent's proxy.
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { credentialRetry, retryingHttpClient } from '../http/azure';
import { RetryPolicy } from '../http/retry';
import { UserError } from '../errors';
import { resolveCloud } from './clouds';
import { FederatedCredential, firstAlone } from './federated';
import { proxySettingsFor } from './proxy';
import {
  DEVOPS_SCOPE,
  type AuthEnvironment,
  type AuthScheme,
  type AzureConnection,
  type ServiceEndpoint,
} from './types';

const SCHEMES: Record<string, AuthScheme> = {
  workloadidentityfederation: 'WorkloadIdentityFederation',
  serviceprincipal: 'ServicePrincipal',
  managedserviceidentity: 'ManagedServiceIdentity',
};

export interface ConnectionOptions {
  /** The input that named the connection (for messages). */
  input?: string;
  /** The connection's display name, when known. */
  name?: string;
}

function describeConnection(endpoint: ServiceEndpoint, opts: ConnectionOptions): string {
  const name = opts.name ? `'${opts.name}' (${endpoint.id})` : `'${endpoint.id}'`;
  return opts.input ? `${name} (input ${opts.input})` : name;
}

/** What kind of connection an agent endpoint scheme belongs to, for errors (the agent's ENDPOINT_AUTH_SCHEME values). */
function connectionKind(raw: string): string | undefined {
  const k = raw.toLowerCase();
  // Kubernetes connections: kubeconfig (Kubernetes), service account (Token), Azure subscription (Kubernetes + azureSubscription data).
  if (k === 'kubernetes' || k === 'token' || k === 'serviceaccount') return 'a Kubernetes service connection';
  // Generic connections: basic authentication, or none.
  if (k === 'usernamepassword' || k === 'none' || k === 'basic') return 'a generic service connection';
  return undefined;
}

/** The AzureRM scheme, case-insensitively; a blank scheme means ServicePrincipal, as azure-arm-rest treats it. */
export function schemeOf(endpoint: ServiceEndpoint, connection: string, input?: string): AuthScheme {
  const raw = (endpoint.scheme ?? '').trim();
  if (raw === '') return 'ServicePrincipal';
  const scheme = SCHEMES[raw.toLowerCase()];
  if (!scheme) {
    const kind = connectionKind(raw);
    const where = input ? `in the ${input} input` : 'here';
    throw new UserError(
      kind
        ? `Service connection ${connection} is ${kind} (scheme '${raw}'), but ${input ?? 'this input'} needs an Azure Resource Manager service connection.`
        : `Service connection ${connection} uses the authentication scheme '${raw}', which these tasks do not support.`,
      {
        code: 'UnsupportedAuthScheme',
        cause: 'only Azure Resource Manager connections can be used',
        fix: `name an Azure Resource Manager service connection ${where} (Project settings > Service connections > New > Azure Resource Manager), with workload identity federation (recommended), a service principal (secret or certificate) or a managed identity${kind === 'a Kubernetes service connection' ? "; a Kubernetes connection belongs in FluxOidcVerify's kubernetesServiceConnection input" : ''}`,
      },
    );
  }
  return scheme;
}

/** Reads a connection parameter the scheme needs: trimmed, or an error saying which and how to set it. */
type Required = (value: string | undefined, what: string, fix: string) => string;

function requiredParameter(connection: string, scheme: AuthScheme): Required {
  return (value, what, fix) => {
    if (value && value.trim()) return value.trim();
    throw new UserError(`Service connection ${connection} (${scheme}) has no ${what}.`, {
      code: 'ConnectionParameterMissing',
      fix,
    });
  };
}

/** What every credential gets: the connection's cloud, no instance discovery, the proxy, the one retry layer. */
type CommonOptions = ReturnType<typeof commonOptions>;

function commonOptions(authorityHost: string, env: AuthEnvironment, proxyOptions: ReturnType<typeof proxySettingsFor>) {
  // Token requests run under the one retry policy inside the HTTP client; the credential's own
  // retry gets zero retries so they are not retried twice (http/azure.ts).
  return {
    authorityHost,
    disableInstanceDiscovery: true,
    ...(proxyOptions ? { proxyOptions } : {}),
    httpClient: retryingHttpClient(env.retry ?? new RetryPolicy({ log: env.log }), env.httpClient),
    retryOptions: credentialRetry,
  };
}

/** The app registration's or identity's client id (authorization parameter serviceprincipalid). */
function clientIdOf(endpoint: ServiceEndpoint, required: Required, fix: string): string {
  return required(endpoint.auth('serviceprincipalid'), 'client id (authorization parameter serviceprincipalid)', fix);
}

interface SchemeCredential {
  clientId: string;
  credential: TokenCredential;
}

interface CredentialContext {
  endpoint: ServiceEndpoint;
  env: AuthEnvironment;
  connection: string;
  tenantId: string;
  required: Required;
  common: CommonOptions;
}

/** A client assertion from the pipeline's OIDC token, fresh per exchange. */
function federatedCredential(ctx: CredentialContext): SchemeCredential {
  const { endpoint, env, connection, tenantId, required, common } = ctx;
  const clientId = clientIdOf(
    endpoint,
    required,
    'edit the service connection; it must name an app registration or managed identity',
  );
  const oidcRequestUri = env.oidcRequestUri;
  if (!oidcRequestUri) {
    throw new UserError(
      `Service connection ${connection} uses workload identity federation, but System.OidcRequestUri is not set.`,
      {
        code: 'NoOidcRequestUri',
        cause: 'the OIDC token endpoint is only available to tasks running in an Azure Pipelines job',
        fix: 'run the task in an Azure Pipelines job on an agent of version 3.220.0 or later',
      },
    );
  }
  return {
    clientId,
    credential: new FederatedCredential(tenantId, clientId, env, endpoint.id, oidcRequestUri, common),
  };
}

/**
 * Every token of the credential from one MSAL application: the ARM clients ask with
 * `enableCae: true`, which @azure/identity serves from a second application (a second authority
 * discovery and token cache); ARM accepts tokens without the CAE capability. The first request
 * goes alone, so the authority is discovered once.
 */
function withoutCae(inner: TokenCredential): TokenCredential {
  const gate = firstAlone();
  return {
    getToken(scopes, options) {
      const { enableCae: _cae, ...rest } = options ?? {};
      return gate(() => inner.getToken(scopes, rest));
    },
  };
}

/** A client secret, or a PEM certificate (spnCertificate, or a certificate without a key); either is a secret. */
function servicePrincipalCredential(ctx: CredentialContext): SchemeCredential {
  const { endpoint, env, tenantId, required, common } = ctx;
  const clientId = clientIdOf(
    endpoint,
    required,
    'edit the service connection and set the service principal client id',
  );
  const certificate = endpoint.auth('servicePrincipalCertificate');
  const useCertificate =
    (endpoint.auth('authenticationType') ?? '').toLowerCase() === 'spncertificate' ||
    (!!certificate && !endpoint.auth('serviceprincipalkey'));
  if (useCertificate) {
    const pem = required(
      certificate,
      'certificate (authorization parameter servicePrincipalCertificate)',
      'edit the service connection and upload the PEM certificate with its private key',
    );
    env.log.secret(pem);
    return {
      clientId,
      credential: withoutCae(new ClientCertificateCredential(tenantId, clientId, { certificate: pem }, common)),
    };
  }
  const secret = required(
    endpoint.auth('serviceprincipalkey'),
    'client secret (authorization parameter serviceprincipalkey)',
    'edit the service connection and set the service principal key, or switch it to workload identity federation',
  );
  env.log.secret(secret);
  return { clientId, credential: withoutCae(new ClientSecretCredential(tenantId, clientId, secret, common)) };
}

/** msiclientId when set (user-assigned), else the system-assigned identity. */
function managedIdentityCredential(
  endpoint: ServiceEndpoint,
  env: AuthEnvironment,
  proxyOptions: ReturnType<typeof proxySettingsFor>,
): SchemeCredential {
  const msiClientId = endpoint.data('msiclientId') || endpoint.auth('msiclientId') || undefined;
  const msiOptions = {
    ...(proxyOptions ? { proxyOptions } : {}),
    ...(env.httpClient ? { httpClient: env.httpClient } : {}),
  };
  return {
    clientId: msiClientId ?? '',
    credential: msiClientId
      ? new ManagedIdentityCredential({ clientId: msiClientId, ...msiOptions })
      : new ManagedIdentityCredential(msiOptions),
  };
}

export async function createAzureConnection(
  endpoint: ServiceEndpoint,
  env: AuthEnvironment,
  opts: ConnectionOptions = {},
): Promise<AzureConnection> {
  const connection = describeConnection(endpoint, opts);
  const scheme = schemeOf(endpoint, connection, opts.input);
  const cloud = resolveCloud(endpoint, connection);

  const required = requiredParameter(connection, scheme);
  const subscriptionId = required(
    endpoint.data('subscriptionId'),
    'subscription id (data subscriptionId)',
    'use a connection scoped to a subscription (scope level Subscription), not a management group or machine learning workspace',
  );
  const tenantId = required(
    endpoint.auth('tenantid'),
    'tenant id (authorization parameter tenantid)',
    'edit the service connection and set its tenant',
  );

  const proxyOptions = proxySettingsFor(env.proxy, cloud.authorityHost);
  const armProxy = proxySettingsFor(env.proxy, cloud.resourceManagerUrl);
  const context = {
    endpoint,
    env,
    connection,
    tenantId,
    required,
    common: commonOptions(cloud.authorityHost, env, proxyOptions),
  };
  const { clientId, credential } =
    scheme === 'WorkloadIdentityFederation'
      ? federatedCredential(context)
      : scheme === 'ServicePrincipal'
        ? servicePrincipalCredential(context)
        : managedIdentityCredential(endpoint, env, proxyOptions);

  env.log.debug(
    `service connection ${connection}: ${scheme}, cloud ${cloud.name} (authority ${cloud.authorityHost}, ARM ${cloud.resourceManagerUrl}), tenant ${tenantId}, client ${clientId || '(system-assigned identity)'}`,
  );
  return {
    id: endpoint.id,
    ...(opts.name ? { name: opts.name } : {}),
    scheme,
    tenantId,
    clientId,
    subscriptionId,
    credential,
    cloud,
    devopsScope: DEVOPS_SCOPE,
    armClientOptions: {
      endpoint: cloud.resourceManagerUrl,
      credentialScopes: [cloud.armScope],
      ...(armProxy ? { proxyOptions: armProxy } : {}),
    },
  };
}
