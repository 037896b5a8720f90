/**
 * Service-account tokens and the AKS OIDC issuer.
 *
 * Every cluster signs its service-account tokens with one RSA key. While the cluster's OIDC
 * issuer is enabled (azure state, set by ARM) tokens carry `iss` = the issuer URL exactly as ARM
 * reports it (trailing slash), and the `aks-issuer` host publishes
 * `{issuerURL}.well-known/openid-configuration` and `{issuerURL}openid/v1/jwks` so Entra can
 * verify them. Before that, tokens come from the cluster-internal issuer, which nobody outside
 * the cluster can discover (Entra answers AADSTS90061 / 70021 for them, as it would).
 */
import * as crypto from 'node:crypto';
import type { Handler } from '../core/host';
import type { SigningKey } from '../core/jwt';
import { jwks, signJwt } from '../core/jwt';
import type { KubeObject } from './model';

/** The cluster-internal issuer of a cluster without the OIDC issuer (not publicly discoverable). */
export const INTERNAL_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface MintOptions {
  issuer: string;
  serviceAccount: KubeObject;
  audiences: string[];
  expirationSeconds: number;
  nowSeconds: number;
  /** The pod the token is bound to (projected volumes), if any. */
  pod?: KubeObject;
}

export function mintServiceAccountToken(key: SigningKey, o: MintOptions): { token: string; exp: number } {
  const ns = o.serviceAccount.metadata.namespace!;
  const name = o.serviceAccount.metadata.name;
  const exp = o.nowSeconds + o.expirationSeconds;
  const k8s: Record<string, unknown> = { namespace: ns, serviceaccount: { name, uid: o.serviceAccount.metadata.uid } };
  if (o.pod) k8s.pod = { name: o.pod.metadata.name, uid: o.pod.metadata.uid };
  const token = signJwt(key, {
    aud: o.audiences,
    exp,
    iat: o.nowSeconds,
    iss: o.issuer,
    jti: crypto.randomUUID(),
    'kubernetes.io': k8s,
    nbf: o.nowSeconds,
    sub: `system:serviceaccount:${ns}:${name}`,
  });
  return { token, exp };
}

export interface PublishedIssuer {
  url: string;
  key: SigningKey;
}

/** The `aks-issuer` host: discovery + JWKS for every cluster whose issuer is enabled. */
export function issuerHandler(published: () => PublishedIssuer[]): Handler {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    for (const p of published()) {
      const base = new URL(p.url);
      const prefix = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
      if (!req.path.startsWith(prefix)) continue;
      const rest = req.path.slice(prefix.length);
      const root = p.url.endsWith('/') ? p.url : `${p.url}/`;
      if (rest === '.well-known/openid-configuration') {
        return {
          status: 200,
          body: {
            issuer: p.url,
            jwks_uri: `${root}openid/v1/jwks`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          },
        };
      }
      if (rest === 'openid/v1/jwks') return { status: 200, body: jwks(p.key) };
    }
    // The AKS issuer answers unknown paths with a bare 404.
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: '404 page not found\n' };
  };
}
