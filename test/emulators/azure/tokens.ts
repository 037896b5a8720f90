/**
 * Access tokens of the emulated Entra ID: RS256 JWTs in the v1 shape ARM and Azure DevOps see
 * (aud, iss, tid, oid, appid, idtyp, exp...), signed with the tenant key published at
 * `/{tenant}/discovery/v2.0/keys`, and the verifier that ARM and the Azure DevOps emulator call
 * through `ctx.entra.verifyAccessToken`.
 */
import * as crypto from 'node:crypto';
import type { AccessTokenClaims, TokenCheck } from '../core/context';
import { JwtError, signJwt, verifyJwt, jwks, type SigningKey } from '../core/jwt';
import type { Clock } from '../core/clock';
import { AZURE_DEVOPS_RESOURCE_ID } from '../names';

/** The audiences ARM accepts (the real front door list). */
export const ARM_AUDIENCES = [
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
  'https://management.azure.com/',
  'https://management.azure.com',
];

/** The AKS AAD server app (kubelogin's audience), for the Kubernetes emulator's optional Entra auth. */
export const AKS_AAD_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

/**
 * Maps a requested resource (scope without `/.default`, or v1 `resource`) to the token audience;
 * undefined for a resource the tenant does not know.
 */
export function audienceFor(resource: string, armUrl: string): string | undefined {
  const r = resource.trim();
  const bare = r.replace(/\/+$/, '');
  if (bare === 'https://management.core.windows.net') return 'https://management.core.windows.net/';
  if (bare === 'https://management.azure.com' || bare === armUrl.replace(/\/+$/, ''))
    return 'https://management.azure.com/';
  if (
    bare === AZURE_DEVOPS_RESOURCE_ID ||
    bare === 'https://app.vssps.visualstudio.com' ||
    bare === `api://${AZURE_DEVOPS_RESOURCE_ID}`
  )
    return AZURE_DEVOPS_RESOURCE_ID;
  if (bare === AKS_AAD_SERVER_APP_ID) return AKS_AAD_SERVER_APP_ID;
  if (bare === 'https://graph.microsoft.com') return 'https://graph.microsoft.com';
  return undefined;
}

export class TokenService {
  readonly key: SigningKey = (() => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    // The kid is the certificate thumbprint style Entra uses (base64url, 27 chars).
    const kid = crypto
      .createHash('sha1')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest('base64url');
    return {
      kid,
      privateKey,
      publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256' as const, use: 'sig' as const },
    };
  })();

  constructor(
    private readonly entraUrl: () => string,
    private readonly clock: Clock,
  ) {}

  /** `iss` of access tokens: the v1 `https://sts.windows.net/{tid}/` form, on the emulator's host. */
  issuer(tenantId: string): string {
    return `${this.entraUrl()}/${tenantId}/`;
  }

  jwks(): { keys: SigningKey['publicJwk'][] } {
    return jwks(this.key);
  }

  issue(p: {
    tenantId: string;
    audience: string;
    objectId: string;
    appId: string;
    lifetimeSeconds: number;
    appidacr: '1' | '2';
    resourceId?: string;
  }): { token: string; exp: number } {
    const now = this.clock.nowSeconds();
    const exp = now + p.lifetimeSeconds;
    const claims: AccessTokenClaims = {
      aud: p.audience,
      iss: this.issuer(p.tenantId),
      iat: now,
      nbf: now,
      exp,
      appid: p.appId,
      appidacr: p.appidacr,
      idp: this.issuer(p.tenantId),
      idtyp: 'app',
      oid: p.objectId,
      sub: p.objectId,
      tid: p.tenantId,
      uti: crypto.randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    if (p.resourceId) claims.xms_mirid = p.resourceId;
    return { token: signJwt(this.key, claims, { x5t: this.key.kid }), exp };
  }

  /** The EntraHooks.verifyAccessToken implementation. Error codes are ARM's (callers may map them). */
  verify(token: string, audience: string | string[], tenantIds: string[]): TokenCheck {
    const audiences = Array.isArray(audience) ? audience : [audience];
    let claims: AccessTokenClaims;
    try {
      claims = verifyJwt(token, this.jwks(), { now: this.clock.nowSeconds() }) as AccessTokenClaims;
    } catch (e) {
      if (e instanceof JwtError && e.reason === 'expired') {
        const exp = (() => {
          try {
            return Number(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).exp);
          } catch {
            return 0;
          }
        })();
        return {
          ok: false,
          status: 401,
          code: 'ExpiredAuthenticationToken',
          message: `The access token expiry UTC time '${new Date(exp * 1000).toUTCString()}' is earlier than current UTC time '${new Date(this.clock.now()).toUTCString()}'.`,
        };
      }
      return { ok: false, status: 401, code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    }
    if (!tenantIds.includes(claims.tid) || claims.iss !== this.issuer(claims.tid)) {
      return {
        ok: false,
        status: 401,
        code: 'InvalidAuthenticationTokenTenant',
        message: `The access token is from the wrong issuer '${claims.iss}'. It must match the tenant '${this.issuer(tenantIds[0] ?? '')}' associated with this subscription. Please use the authority (URL) '${this.entraUrl()}/${tenantIds[0] ?? ''}' to get the token.`,
      };
    }
    if (!audiences.includes(claims.aud)) {
      return {
        ok: false,
        status: 401,
        code: 'InvalidAuthenticationTokenAudience',
        message: `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences '${audiences.join("','")}'.`,
      };
    }
    return { ok: true, claims };
  }
}
