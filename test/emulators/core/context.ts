/**
 * What every emulated service shares: the CA, the journal, the faults, the clock, the URLs of the
 * other hosts, the live state, and a few in-process hooks between services (the ones a real cloud
 * has too: Entra knows the service principals ARM creates, ARM hands out the cluster's kubeconfig,
 * source-controller fetches from Azure DevOps Git).
 *
 * Ownership: each service folder owns its state section and its hook (azure/ -> entra + arm,
 * devops/ -> devops + vssps + vsaex + devops-issuer, kube/ -> kube + aks-issuer).
 */
import * as https from 'node:https';
import type { Clock } from './clock';
import type { Faults } from './faults';
import type { Journal } from './journal';
import type { TestCa } from './tls';
import type { JwtClaims } from './jwt';

/** Host names as they appear in the journal and in fault rules. */
export type HostName = 'entra' | 'arm' | 'devops' | 'vssps' | 'vsaex' | 'devops-issuer' | 'aks-issuer' | 'kube';

export type CloudUrls = Record<HostName, string>;

export type TokenCheck =
  { ok: true; claims: AccessTokenClaims } | { ok: false; status: 401 | 403; code: string; message: string };

/** The claims the emulated Entra ID puts into an access token (v1 shape, as ARM and ADO see). */
export interface AccessTokenClaims extends JwtClaims {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  appid: string;
  idtyp?: 'app' | 'user';
}

/** A service principal in the emulated tenant (an app registration's or a managed identity's). */
export interface DirectoryPrincipal {
  tenantId: string;
  /** Service principal object id (ARM `principalId`, Azure DevOps `originId`, token `oid`). */
  objectId: string;
  /** Application (client) id (ARM `clientId`, token `appid`). */
  appId: string;
  displayName: string;
  kind: 'application' | 'managedIdentity';
  /** The ARM resource id of a user-assigned managed identity. */
  resourceId?: string;
}

export interface EntraHooks {
  /** Verifies an access token issued by the emulated Entra ID for `audience` (expiry included). */
  verifyAccessToken(token: string, audience: string | string[]): TokenCheck;
  /**
   * Looks a service principal up by object id or app (client) id, as Microsoft Graph would. A managed
   * identity created through ARM is found once the tenant's replication delay (state knob) has
   * passed on the emulated clock; undefined before that and for unknown ids.
   */
  principal(objectIdOrAppId: string): DirectoryPrincipal | undefined;
}

export interface KubeHooks {
  /** The kubeconfig YAML listCluster{User,Admin}Credential returns for a cluster (ARM resource id). */
  kubeconfig(clusterResourceId: string, kind: 'user' | 'admin'): string;
  /** Called by ARM after a cluster PUT changed OIDC issuer / workload identity settings. */
  clusterUpdated(clusterResourceId: string): void;
}

export interface DevOpsHooks {
  /** The job's System.AccessToken for the emulated pipeline run (what the agent puts in SYSTEMVSSCONNECTION). */
  systemAccessToken(): string;
}

export interface CloudContext {
  ca: TestCa;
  journal: Journal;
  faults: Faults;
  clock: Clock;
  urls: CloudUrls;
  /** Live, mutable state; each service owns its section (see the state module). */
  state: import('../state').CloudState;
  entra: EntraHooks;
  kube: KubeHooks;
  devops: DevOpsHooks;
  /** A scratch directory for this cloud (git repositories, rendered manifests). */
  workDir: string;
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = unknown>(): T;
}

/** HTTPS request from one emulated service to another, trusting the cloud's CA. */
export function httpsRequest(
  ca: TestCa,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers, ca: ca.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: <T>() => JSON.parse(body.toString('utf8')) as T,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
