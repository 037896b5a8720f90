/**
 * Cluster access as a @kubernetes/client-node KubeConfig, built in memory (never written to disk):
 *
 * - from a kubeconfig document (AKS listClusterUserCredential / listClusterAdminCredential, or a
 *   Kubernetes service connection with the Kubeconfig scheme);
 * - from a Kubernetes service connection with a service-account token (schemes Token /
 *   ServiceAccount: base64 `apiToken` + base64 CA `serviceAccountCertificate` + the endpoint URL).
 *
 * AKS user kubeconfigs of Entra-integrated clusters call the kubelogin exec plugin. No kubelogin
 * binary is needed here: the plugin's server id (`--server-id`, default the AKS server app
 * 6dae42f8-…) becomes a scope and the AzureRM connection's credential gets the bearer token,
 * which is what kubelogin would have done with that connection's identity.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { TokenCredential } from '@azure/identity';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../log';
import { UserError } from '../errors';

/** The AKS AAD server application (Azure Kubernetes Service AAD Server). */
export const AKS_SERVER_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

export type KubeSource =
  | { kind: 'kubeconfig'; kubeconfig: string; context?: string; origin: string }
  | { kind: 'token'; server: string; token: string; caData?: string; skipTlsVerify?: boolean; origin: string };

/** What a Kubernetes service connection looks like to a task (a subset of auth/types ServiceEndpoint). */
export interface KubeEndpoint {
  id: string;
  url?: string;
  scheme?: string;
  auth(key: string): string | undefined;
  data(key: string): string | undefined;
}

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/**
 * Reads a Kubernetes service connection. `Kubeconfig` → the kubeconfig (+ clusterContext);
 * `Token` / `ServiceAccount` → the endpoint URL, the base64 token and the base64 CA.
 * `AzureSubscription` connections carry no credentials the task can use: a clear error says to
 * use the AzureRM path instead.
 */
export function kubeSourceFromEndpoint(ep: KubeEndpoint, input = 'kubernetesServiceConnection'): KubeSource {
  const scheme = (ep.scheme ?? '').toLowerCase();
  const authType = (ep.data('authorizationType') ?? '').toLowerCase();
  const origin = `Kubernetes service connection ${ep.id}`;
  if (scheme === 'kubeconfig' || authType === 'kubeconfig') {
    const kubeconfig = ep.auth('kubeconfig');
    if (!kubeconfig)
      throw badEndpoint(
        input,
        'has the Kubeconfig scheme but no kubeconfig',
        'paste the kubeconfig into the service connection',
      );
    const context = ep.auth('clusterContext');
    return { kind: 'kubeconfig', kubeconfig, ...(context ? { context } : {}), origin };
  }
  if (scheme === 'token' || scheme === 'serviceaccount' || authType === 'serviceaccount') {
    const apiToken = ep.auth('apiToken') ?? ep.auth('apitoken');
    const server = ep.url;
    if (!apiToken || !server)
      throw badEndpoint(
        input,
        'has the ServiceAccount scheme but no server URL or token',
        "fill in the server URL and the secret's token and ca.crt in the service connection",
      );
    // The agent passes the secret's data as it appears in the Secret (base64); a pasted raw JWT starts with "eyJ".
    const token = apiToken.startsWith('eyJ') ? apiToken : b64(apiToken).trim();
    const cert = ep.auth('serviceAccountCertificate');
    const caData = cert
      ? cert.includes('-----BEGIN')
        ? Buffer.from(cert).toString('base64')
        : cert.replace(/\s+/g, '')
      : undefined;
    const skipTlsVerify = (ep.data('acceptUntrustedCerts') ?? '').toLowerCase() === 'true';
    return { kind: 'token', server, token, ...(caData ? { caData } : {}), skipTlsVerify, origin };
  }
  if (authType === 'azuresubscription' || scheme === 'kubernetes') {
    throw badEndpoint(
      input,
      'uses the Azure Subscription authentication, which hands a task no cluster credentials',
      'leave kubernetesServiceConnection empty so the task reads the AKS credentials through azureSubscription, or use a Kubeconfig / Service Account connection',
    );
  }
  throw badEndpoint(
    input,
    `has the unsupported scheme '${ep.scheme ?? '(none)'}'`,
    'use a Kubernetes service connection with Kubeconfig or Service Account authentication',
  );
}

function badEndpoint(input: string, problem: string, fix: string): UserError {
  return new UserError(`The Kubernetes service connection (${input}) ${problem}.`, { code: 'KubeEndpoint', fix });
}

interface RawUser {
  name: string;
  user?: {
    token?: string;
    exec?: { command?: string; args?: string[]; env?: { name: string; value: string }[] | null };
    'auth-provider'?: { name?: string; config?: Record<string, string> };
    [k: string]: unknown;
  };
}

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context?: { user?: string; cluster?: string } }[];
  users?: RawUser[];
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
}

/** The kubelogin / azure auth-provider server id, or undefined when the user is not Entra-based. */
export function entraServerId(user: RawUser['user']): { serverId: string; via: string } | undefined {
  const exec = user?.exec;
  if (exec?.command) {
    const cmd = exec.command
      .split(/[\\/]/)
      .pop()!
      .replace(/\.exe$/i, '');
    if (cmd !== 'kubelogin') return undefined;
    const args = exec.args ?? [];
    let serverId: string | undefined;
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--server-id') serverId = args[i + 1];
      else if (args[i].startsWith('--server-id=')) serverId = args[i].slice('--server-id='.length);
    }
    return { serverId: serverId ?? AKS_SERVER_ID, via: 'kubelogin exec plugin' };
  }
  const ap = user?.['auth-provider'];
  if (ap?.name === 'azure')
    return { serverId: ap.config?.['apiserver-id'] ?? AKS_SERVER_ID, via: 'azure auth-provider' };
  return undefined;
}

/**
 * Registers every credential a kubeconfig holds (tokens, client keys and certificates, passwords)
 * as a secret. The document itself is never logged or written; the agent refuses multi-line
 * secrets, so its values are registered one by one.
 */
export function registerKubeconfigSecrets(raw: unknown, log: Logger): void {
  const users = (raw as RawKubeconfig | null)?.users ?? [];
  for (const u of users) {
    for (const key of ['token', 'client-key-data', 'client-certificate-data', 'password']) {
      const v = u.user?.[key];
      if (typeof v === 'string' && v) log.secret(v);
    }
  }
}

export interface BuildOptions {
  log: Logger;
  /** The AzureRM connection's credential: turns kubelogin users into bearer tokens. */
  credential?: TokenCredential;
}

export interface BuiltKubeConfig {
  kc: KubeConfig;
  server: string;
  /** How the task authenticates, for the log and the report (never a secret). */
  auth: string;
}

/** A service-account token: the cluster and the token as they are. */
function tokenKubeConfig(source: Extract<KubeSource, { kind: 'token' }>, log: Logger): BuiltKubeConfig {
  const kc = new KubeConfig();
  log.secret(source.token);
  kc.loadFromClusterAndUser(
    {
      name: 'cluster',
      server: source.server,
      skipTLSVerify: source.skipTlsVerify ?? false,
      ...(source.caData ? { caData: source.caData } : {}),
    },
    { name: 'service-account', token: source.token },
  );
  return { kc, server: source.server, auth: `service-account token (${source.origin})` };
}

type KubeconfigSource = Extract<KubeSource, { kind: 'kubeconfig' }>;

/** The kubeconfig document and the context it is used with (the source's, else its current one, else its first). */
function readKubeconfig(source: KubeconfigSource) {
  let raw: RawKubeconfig;
  try {
    raw = (parseYaml(source.kubeconfig) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new UserError(`The kubeconfig from ${source.origin} is not valid YAML.`, {
      code: 'KubeconfigInvalid',
      fix: 'check the kubeconfig of the service connection',
      inner: err,
    });
  }
  const contextName = source.context ?? raw['current-context'] ?? raw.contexts?.[0]?.name;
  const context = raw.contexts?.find((c) => c.name === contextName);
  if (!context?.context?.cluster) {
    throw new UserError(`The kubeconfig from ${source.origin} has no context '${contextName ?? ''}'.`, {
      code: 'KubeconfigContext',
      fix: `set clusterContext in the service connection to one of: ${(raw.contexts ?? []).map((c) => c.name).join(', ') || '(none)'}`,
    });
  }
  return { raw, contextName, userName: context.context.user };
}

/**
 * A kubelogin / azure auth-provider user gets the Entra bearer token it would have produced (the
 * description of that, returned); any other exec plugin is refused; other users stay as they are.
 */
async function resolveUser(
  rawUser: RawUser | undefined,
  userName: string | undefined,
  source: KubeconfigSource,
  opts: BuildOptions,
): Promise<string | undefined> {
  const entra = entraServerId(rawUser?.user);
  if (entra && rawUser) {
    if (!opts.credential) {
      throw new UserError(
        `The kubeconfig from ${source.origin} signs in through ${entra.via}, which needs an Azure credential.`,
        {
          code: 'KubeloginNoCredential',
          fix: 'use the AKS credentials through azureSubscription, or a Kubernetes service connection with a service-account token',
        },
      );
    }
    const scope = `${entra.serverId}/.default`;
    const token = await opts.credential.getToken(scope);
    if (!token?.token)
      throw new UserError(`No Entra token for the AKS server application ${entra.serverId}.`, {
        code: 'KubeloginNoToken',
        fix: 'check that the AzureRM service connection can sign in',
      });
    opts.log.secret(token.token);
    // Replace the exec plugin with the bearer token it would have produced.
    rawUser.user = { token: token.token };
    return `Entra token for server id ${entra.serverId} (converted from the ${entra.via}, no kubelogin needed)`;
  } else if (rawUser?.user?.exec?.command) {
    throw new UserError(
      `The kubeconfig user '${userName}' runs the exec plugin '${rawUser.user.exec.command}', which this task does not run.`,
      {
        code: 'KubeconfigExec',
        fix: 'use a kubeconfig with a token or client certificate, clusterCredentials: admin, or a service-account token connection',
      },
    );
  }
  return undefined;
}

/** Builds the in-memory KubeConfig; every credential in it is registered as a secret first. */
export async function buildKubeConfig(source: KubeSource, opts: BuildOptions): Promise<BuiltKubeConfig> {
  if (source.kind === 'token') return tokenKubeConfig(source, opts.log);
  const { raw, contextName, userName } = readKubeconfig(source);
  const rawUser = raw.users?.find((u) => u.name === userName);
  registerKubeconfigSecrets(raw, opts.log);
  const entraAuth = await resolveUser(rawUser, userName, source, opts);
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({ ...raw, 'current-context': contextName }));
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new UserError(`The kubeconfig from ${source.origin} names no cluster for context '${contextName}'.`, {
      code: 'KubeconfigCluster',
      fix: 'check the kubeconfig',
    });
  const u = kc.getCurrentUser();
  const auth =
    entraAuth ??
    (u?.token
      ? 'kubeconfig bearer token'
      : u?.certData || u?.certFile
        ? 'kubeconfig client certificate'
        : 'kubeconfig user');
  return { kc, server: cluster.server, auth: `${auth} (${source.origin})` };
}
