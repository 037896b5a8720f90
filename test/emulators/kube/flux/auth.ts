/**
 * How a Flux controller authenticates to Git, per Flux version, and the failure texts it reports.
 *
 * `provider: azure` at the controller level: the controller's own pod must carry the workload
 * identity environment the webhook injects; the projected service-account token is exchanged at
 * Entra (client_assertion, client_id = AZURE_CLIENT_ID, scope = Azure DevOps) for a bearer token.
 * Texts, from the controllers' code:
 * - Flux 2.4 / 2.5 (source-controller 1.4 / 1.5: azidentity DefaultAzureCredential inside go-git's
 *   clone): `failed to checkout and determine revision: DefaultAzureCredential: failed to acquire a
 *   token.\nAttempted credentials:\n\t…` (reason GitOperationFailed); a Secret with username/password
 *   next to the token: `basic auth and bearer token cannot be set at the same time`.
 * - Flux 2.6+ (fluxcd/pkg/auth): `failed to configure authentication options: failed to get access
 *   token for Git repository: failed to create provider access token for the controller: …` (reason
 *   AuthenticationFailed). Without the workload identity environment the credential falls back to
 *   the node's managed identity (IMDS), so the text is the IMDS failure. Username/password from a
 *   Secret are overwritten by the provider credentials, so a kept `secretRef` no longer breaks.
 */
import { httpsRequest } from '../../core/context';
import type { KubeObject } from '../model';
import { containerEnv, WI_CLIENT_ID, WI_TENANT_ID } from '../workloads';
import type { KubeCluster } from '../cluster';
import type { Auth } from './git';

export const AZURE_DEVOPS_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';
const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const IMDS_FAILURE =
  'ManagedIdentityCredential: failed to authenticate a system assigned identity. The endpoint responded with {"error":"invalid_request","error_description":"Identity not found"}';

/** A running controller: its pod and the Flux minor its image belongs to. */
export interface ControllerInfo {
  name: string;
  pod: KubeObject;
  /** Flux minor version (2.x → x) derived from the controller image tag. */
  fluxMinor: number;
  args: string[];
}

/** Where in the controller the failure happened (each controller wraps the stages its own way). */
export type AuthFailure =
  | { stage: 'secret'; message: string }
  | { stage: 'token'; message: string }
  | { stage: 'stalled'; reason: string; message: string }
  | { stage: 'conflict'; message: string }
  /** Fails while talking to the remote (SSH handshake): reported like a clone error. */
  | { stage: 'transport'; message: string };

export type AuthResult = { ok: true; auth: Auth } | { ok: false; failure: AuthFailure };

function secretData(s: KubeObject | undefined): Record<string, string> {
  const data = (s?.data as Record<string, string> | undefined) ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** azidentity's AuthenticationFailedError text for a token endpoint answer. */
function authenticationFailed(
  credType: string,
  method: string,
  url: string,
  status: number,
  statusText: string,
  body: Buffer,
): string {
  let pretty = body.toString('utf8');
  try {
    pretty = JSON.stringify(JSON.parse(pretty), null, 2);
  } catch {
    /* verbatim */
  }
  const line = '--------------------------------------------------------------------------------';
  const u = new URL(url);
  return `${credType} authentication failed. \n${method} ${u.protocol}//${u.host}${u.pathname}\n${line}\nRESPONSE ${status}: ${status} ${statusText}\n${line}\n${pretty || 'Response contained no body'}\n${line}\nTo troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#workload`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Exchanges a service-account token at the emulated Entra; returns the access token or the azidentity error text. */
async function exchange(
  cluster: KubeCluster,
  authorityHost: string,
  tenantId: string,
  clientId: string,
  assertion: string,
  credType: string,
): Promise<{ token: string } | { error: string }> {
  const base = authorityHost.endsWith('/') ? authorityHost : `${authorityHost}/`;
  const url = `${base}${tenantId}/oauth2/v2.0/token`;
  const body = new URLSearchParams({
    client_id: clientId,
    scope: AZURE_DEVOPS_SCOPE,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    grant_type: 'client_credentials',
  }).toString();
  let res;
  try {
    res = await httpsRequest(cluster.ctx.ca, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
  } catch (e) {
    return { error: `${credType} authentication failed. Post "${url}": ${e instanceof Error ? e.message : String(e)}` };
  }
  if (res.status === 200) {
    const t = res.json<{ access_token?: string }>().access_token;
    if (t) return { token: t };
  }
  return { error: authenticationFailed(credType, 'POST', url, res.status, STATUS_TEXT[res.status] ?? '', res.body) };
}

function envLineFor(env: Record<string, string>): string {
  if (!('AZURE_TENANT_ID' in env)) return 'EnvironmentCredential: missing environment variable AZURE_TENANT_ID';
  if (!('AZURE_CLIENT_ID' in env)) return 'EnvironmentCredential: missing environment variable AZURE_CLIENT_ID';
  return 'EnvironmentCredential: incomplete environment variable configuration. Only AZURE_TENANT_ID and AZURE_CLIENT_ID are set';
}

function defaultChain(lines: string[]): string {
  return `DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n${lines.map((l) => `\t${l}`).join('\n')}`;
}

/** The controller-level Azure token for Azure DevOps (`provider: azure`). */
async function controllerLevelToken(
  cluster: KubeCluster,
  controller: ControllerInfo,
): Promise<{ token: string } | { error: string }> {
  const env = containerEnv(controller.pod, 'manager');
  const need = ['AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID'];
  const complete = need.every((n) => n in env);
  const legacy = controller.fluxMinor < 6;
  if (!complete) {
    if (!legacy) return { error: IMDS_FAILURE };
    const wi = !('AZURE_CLIENT_ID' in env)
      ? 'WorkloadIdentityCredential: no client ID specified. Check pod configuration or set ClientID in the options'
      : !('AZURE_TENANT_ID' in env)
        ? 'WorkloadIdentityCredential: no tenant ID specified. Check pod configuration or set TenantID in the options'
        : 'WorkloadIdentityCredential: no token file specified. Check pod configuration or set TokenFilePath in the options';
    return {
      error: defaultChain([
        envLineFor(env),
        wi,
        IMDS_FAILURE,
        'AzureCLICredential: Azure CLI not found on path',
        'AzureDeveloperCLICredential: Azure Developer CLI not found on path',
      ]),
    };
  }
  // The projected token the kubelet writes into AZURE_FEDERATED_TOKEN_FILE: audience api://AzureADTokenExchange, bound to the pod.
  const volumes =
    (
      controller.pod.spec as {
        volumes?: {
          projected?: {
            sources?: { serviceAccountToken?: { path?: string; audience?: string; expirationSeconds?: number } }[];
          };
        }[];
      }
    ).volumes ?? [];
  const fileName = env.AZURE_FEDERATED_TOKEN_FILE!.split('/').pop();
  const projected = volumes
    .flatMap((v) => v.projected?.sources ?? [])
    .map((s) => s.serviceAccountToken)
    .find((t) => t && t.path === fileName);
  if (!projected) {
    const e = `WorkloadIdentityCredential: failed to read token file: open ${env.AZURE_FEDERATED_TOKEN_FILE}: no such file or directory`;
    return { error: legacy ? defaultChain([envLineFor(env), e]) : e };
  }
  const saName = (controller.pod.spec as { serviceAccountName?: string }).serviceAccountName ?? 'default';
  const sa = cluster.store.get(cluster.store.byKind('', 'ServiceAccount')!, controller.pod.metadata.namespace, saName);
  if (!sa)
    return { error: `WorkloadIdentityCredential: failed to read token file: service account ${saName} not found` };
  const { token } = cluster.mintToken(
    sa,
    [projected.audience ?? TOKEN_EXCHANGE_AUDIENCE],
    projected.expirationSeconds ?? 3600,
    controller.pod,
  );
  const r = await exchange(
    cluster,
    env.AZURE_AUTHORITY_HOST!,
    env.AZURE_TENANT_ID!,
    env.AZURE_CLIENT_ID!,
    token,
    'WorkloadIdentityCredential',
  );
  if ('error' in r && legacy) return { error: defaultChain([envLineFor(env), r.error]) };
  return r;
}

/** Object-level workload identity (Flux 2.7+ `spec.serviceAccountName`): Flux itself requests the token. */
async function objectLevelToken(
  cluster: KubeCluster,
  namespace: string,
  saName: string,
): Promise<{ token: string } | { error: string }> {
  const sa = cluster.store.get(cluster.store.byKind('', 'ServiceAccount')!, namespace, saName);
  if (!sa)
    return { error: `failed to get service account '${namespace}/${saName}': serviceaccounts "${saName}" not found` };
  const ann = sa.metadata.annotations ?? {};
  if (!ann[WI_CLIENT_ID])
    return {
      error: `failed to get provider identity from service account '${namespace}/${saName}' annotations: azure client ID is not set in the service account annotation ${WI_CLIENT_ID}`,
    };
  if (!ann[WI_TENANT_ID])
    return {
      error: `failed to get provider identity from service account '${namespace}/${saName}' annotations: azure tenant ID is not set in the service account annotation ${WI_TENANT_ID}`,
    };
  const { token } = cluster.mintToken(sa, [TOKEN_EXCHANGE_AUDIENCE], 3600);
  const r = await exchange(
    cluster,
    `${cluster.ctx.urls.entra}/`,
    ann[WI_TENANT_ID]!,
    ann[WI_CLIENT_ID]!,
    token,
    'ClientAssertionCredential',
  );
  if ('error' in r)
    return { error: `failed to create provider access token for service account '${namespace}/${saName}': ${r.error}` };
  return r;
}

export interface GitAuthInput {
  namespace: string;
  /** The GitRepository as the controller reads it (v1). */
  spec: { provider?: string; secretRef?: { name?: string }; serviceAccountName?: string };
  transport: 'https' | 'ssh';
  sshKeyRegistered: boolean;
}

/** Resolves the credentials a Flux controller would use for a GitRepository. */
export async function gitAuth(
  cluster: KubeCluster,
  controller: ControllerInfo,
  input: GitAuthInput,
): Promise<AuthResult> {
  let data: Record<string, string> = {};
  const secretName = input.spec.secretRef?.name;
  if (secretName) {
    const s = cluster.store.get(cluster.store.byKind('', 'Secret')!, input.namespace, secretName);
    if (!s)
      return {
        ok: false,
        failure: {
          stage: 'secret',
          message: `failed to get secret '${input.namespace}/${secretName}': secrets "${secretName}" not found`,
        },
      };
    data = secretData(s);
  }
  const provider = input.spec.provider ?? 'generic';
  if (provider === 'azure' && controller.fluxMinor >= 4) {
    let r: { token: string } | { error: string };
    if (input.spec.serviceAccountName && controller.fluxMinor >= 7) {
      const gate = controller.args.some((a) => /^--feature-gates=.*ObjectLevelWorkloadIdentity=true/.test(a));
      if (!gate) {
        return {
          ok: false,
          failure: {
            stage: 'stalled',
            reason: 'FeatureGateDisabled',
            message:
              'to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller',
          },
        };
      }
      r = await objectLevelToken(cluster, input.namespace, input.spec.serviceAccountName);
    } else {
      r = await controllerLevelToken(cluster, controller);
      if ('error' in r && controller.fluxMinor >= 6)
        r = { error: `failed to create provider access token for the controller: ${r.error}` };
    }
    if ('error' in r) return { ok: false, failure: { stage: 'token', message: r.error } };
    if (controller.fluxMinor < 6 && input.transport === 'https' && (data.username || data.password)) {
      return {
        ok: false,
        failure: { stage: 'conflict', message: 'basic auth and bearer token cannot be set at the same time' },
      };
    }
    if (input.transport === 'ssh') return sshAuth(cluster, data, input.sshKeyRegistered);
    return { ok: true, auth: { kind: 'bearer', token: r.token } };
  }
  if (input.transport === 'ssh') return sshAuth(cluster, data, input.sshKeyRegistered);
  if (data.bearerToken) return { ok: true, auth: { kind: 'bearer', token: data.bearerToken } };
  if (data.username || data.password)
    return { ok: true, auth: { kind: 'basic', username: data.username ?? '', password: data.password ?? '' } };
  return { ok: true, auth: { kind: 'none' } };
}

/** The SSH shortcut (see git.ts): a registered deploy key reads through smart HTTP as the build identity. */
function sshAuth(cluster: KubeCluster, data: Record<string, string>, registered: boolean): AuthResult {
  if (!data.identity || !registered) {
    const methods = data.identity ? '[none publickey]' : '[none]';
    return {
      ok: false,
      failure: {
        stage: 'transport',
        message: `ssh: handshake failed: ssh: unable to authenticate, attempted methods ${methods}, no supported methods remain`,
      },
    };
  }
  return { ok: true, auth: { kind: 'bearer', token: cluster.ctx.devops.systemAccessToken() } };
}
