/**
 * The Azure DevOps OIDC issuer for service connections (legacy vstoken form
 * `{devops-issuer}/{organizationId}`): signing key, discovery document and JWKS on the
 * `devops-issuer` host, public like the real vstoken endpoints.
 */
import * as crypto from 'node:crypto';
import type { CloudContext } from '../core/context';
import type { Handler } from '../core/host';
import { createSigningKey, jwks, signJwt, type SigningKey } from '../core/jwt';
import { devopsIssuerUrl, TOKEN_EXCHANGE_AUDIENCE } from '../names';

export const OIDC_TOKEN_LIFETIME_SECONDS = 600;

export class DevOpsIssuer {
  readonly key: SigningKey = createSigningKey(`vstoken-${crypto.randomUUID().slice(0, 8)}`);

  constructor(private readonly cloud: CloudContext) {}

  issuer(): string {
    return devopsIssuerUrl(this.cloud.urls['devops-issuer'], this.cloud.state.devops.organization.id);
  }

  sign(subject: string): string {
    const now = this.cloud.clock.nowSeconds();
    return signJwt(this.key, {
      jti: crypto.randomUUID(),
      sub: subject,
      aud: TOKEN_EXCHANGE_AUDIENCE,
      iss: this.issuer(),
      nbf: now,
      iat: now,
      exp: now + OIDC_TOKEN_LIFETIME_SECONDS,
    });
  }

  /** The devops-issuer host: discovery and keys. */
  handler(): Handler {
    return async (req) => {
      if (req.method !== 'GET') return undefined;
      const org = this.cloud.state.devops.organization.id;
      const p = req.path.replace(/\/+$/, '');
      if (p === `/${org}/.well-known/openid-configuration`) {
        const issuer = this.issuer();
        return {
          status: 200,
          body: {
            issuer,
            jwks_uri: `${this.cloud.urls['devops-issuer']}/${org}/.well-known/jwks`,
            subject_types_supported: ['public'],
            response_types_supported: ['id_token'],
            claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'nbf', 'jti'],
            id_token_signing_alg_values_supported: ['RS256'],
            scopes_supported: ['openid'],
          },
        };
      }
      if (p === `/${org}/.well-known/jwks` || p === '/.well-known/jwks') return { status: 200, body: jwks(this.key) };
      return undefined;
    };
  }
}
