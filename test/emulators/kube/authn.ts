/**
 * Who is calling, as an AKS API server decides it: a client certificate
 * signed by the cluster CA (CN = user, O = groups; the admin kubeconfig's is
 * `masterclient`/`system:masters`), a static token from the state, a service-account token this
 * cluster issued for the API server's audience, or, on a cluster with managed Entra integration
 * only, an Entra access token for the AKS server app (`6dae42f8-…`, what kubelogin fetches): user =
 * the principal's object id, as AKS maps service principals and managed identities
 * (https://learn.microsoft.com/azure/aks/concepts-identity#microsoft-entra-integration).
 */
import type { CloudContext } from '../core/context';
import type { EmuRequest } from '../core/host';
import type { SigningKey } from '../core/jwt';
import { decodeJwt, jwks, verifyJwt } from '../core/jwt';
import type { KubeClusterState } from './model';
import type { UserInfo } from './rbac';
import { errors } from './status';

export const AKS_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

export interface AuthnContext {
  ctx: CloudContext;
  state: KubeClusterState;
  key: SigningKey;
  /** Issuers whose tokens this API server accepts (internal + OIDC issuer when enabled). */
  issuers(): string[];
  audiences(): string[];
  /** True when the cluster has managed Entra integration (only then are Entra tokens accepted). */
  entra(): boolean;
  /** True when the ServiceAccount (namespace, name, uid) still exists. */
  serviceAccountExists(namespace: string, name: string, uid: string | undefined): boolean;
}

export function authenticate(a: AuthnContext, req: EmuRequest): UserInfo {
  if (req.clientCert) {
    return { name: req.clientCert.commonName, groups: [...req.clientCert.organizations, 'system:authenticated'] };
  }
  const token = req.bearer();
  if (!token) throw errors.unauthorized();
  const fixed = a.state.staticTokens?.find((t) => t.token === token);
  if (fixed) return { name: fixed.user, groups: [...(fixed.groups ?? []), 'system:authenticated'] };

  let claims: Record<string, unknown> | undefined;
  try {
    claims = decodeJwt(token).claims;
  } catch {
    throw errors.unauthorized();
  }
  if (typeof claims.iss === 'string' && a.issuers().includes(claims.iss)) {
    try {
      const c = verifyJwt(token, jwks(a.key), { now: a.ctx.clock.nowSeconds() });
      const auds = Array.isArray(c.aud) ? c.aud : [c.aud];
      if (!auds.some((x) => typeof x === 'string' && a.audiences().includes(x))) throw errors.unauthorized();
      const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(String(c.sub));
      if (!m) throw errors.unauthorized();
      const sa = (c['kubernetes.io'] as { serviceaccount?: { uid?: string } } | undefined)?.serviceaccount;
      if (!a.serviceAccountExists(m[1]!, m[2]!, sa?.uid)) throw errors.unauthorized();
      return {
        name: String(c.sub),
        groups: ['system:serviceaccounts', `system:serviceaccounts:${m[1]}`, 'system:authenticated'],
      };
    } catch {
      throw errors.unauthorized();
    }
  }
  // A cluster without Entra integration has no Entra webhook: the token authenticates nobody.
  if (!a.entra()) throw errors.unauthorized();
  const check = a.ctx.entra.verifyAccessToken(token, AKS_SERVER_APP_ID);
  if (!check.ok) throw errors.unauthorized();
  const groups = Array.isArray(check.claims.groups) ? (check.claims.groups as unknown[]).map(String) : [];
  const upn = typeof check.claims.upn === 'string' ? check.claims.upn : undefined;
  return {
    name: upn ?? check.claims.oid,
    groups: [...groups, 'system:authenticated'],
    entraObjectId: check.claims.oid,
  };
}
