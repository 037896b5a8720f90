/**
 * Test helpers for the Azure emulators: app registrations added to a running cloud, SDK credential
 * options pointing at the emulated Entra ID, and a stand-alone OIDC issuer (discovery + JWKS over
 * HTTPS on the cloud's CA) that signs assertions the way an AKS or Azure DevOps issuer does.
 */
import * as crypto from 'node:crypto';
import type { Cloud } from '../cloud';
import { startHost } from '../core/host';
import { createSigningKey, jwks, signJwt, type JwtClaims } from '../core/jwt';
import { issueClientCertificate } from '../core/tls';
import { TOKEN_EXCHANGE_AUDIENCE } from '../names';

/** Options every @azure/identity credential needs against the emulated Entra ID. */
export function entraOptions(cloud: Cloud): { authorityHost: string; disableInstanceDiscovery: true } {
  return { authorityHost: cloud.ctx.urls.entra, disableInstanceDiscovery: true };
}

export interface TestApp {
  appId: string;
  objectId: string;
  secret: string;
  /** PEM certificate + private key (for ClientCertificateCredential), when asked for. */
  certificate?: { certPem: string; keyPem: string };
}

/** Registers an app (service principal) in the running cloud's tenant, optionally with a role. */
export function addApp(
  cloud: Cloud,
  o: {
    name: string;
    role?: string;
    scope?: string;
    certificate?: boolean;
    fics?: { name: string; issuer: string; subject: string; audiences?: string[] }[];
  },
): TestApp {
  const azure = cloud.ctx.state.azure;
  const app: TestApp = {
    appId: crypto.randomUUID(),
    objectId: crypto.randomUUID(),
    secret: crypto.randomBytes(24).toString('base64url'),
  };
  if (o.certificate) {
    const c = issueClientCertificate(cloud.ctx.ca, o.name);
    app.certificate = { certPem: c.cert, keyPem: c.key };
  }
  azure.tenant.applications.push({
    displayName: o.name,
    appId: app.appId,
    servicePrincipalObjectId: app.objectId,
    secrets: [{ id: 'test', value: app.secret }],
    certificates: app.certificate ? [{ certificatePem: app.certificate.certPem }] : [],
    federatedIdentityCredentials: (o.fics ?? []).map((f) => ({
      ...f,
      audiences: f.audiences ?? [TOKEN_EXCHANGE_AUDIENCE],
    })),
  });
  if (o.role)
    azure.roleAssignments.push({
      principalId: app.objectId,
      role: o.role,
      scope: o.scope ?? `/subscriptions/${azure.subscriptions[0]!.id}`,
    });
  return app;
}

export interface TestIssuer {
  /** The issuer URL (`iss`), AKS style with a trailing slash. */
  issuer: string;
  /** Signs an assertion: iss = the issuer, aud = api://AzureADTokenExchange, valid 1 h on the cloud's clock, unless overridden. */
  sign(claims: JwtClaims): string;
  close(): Promise<void>;
}

/** An OIDC issuer on its own HTTPS port: `{issuer}.well-known/openid-configuration` and `{issuer}openid/v1/jwks`. */
export async function startTestIssuer(cloud: Cloud, name = 'test-issuer'): Promise<TestIssuer> {
  const key = createSigningKey();
  let issuer = '';
  const host = await startHost({
    name,
    ca: cloud.ctx.ca,
    journal: cloud.ctx.journal,
    faults: cloud.ctx.faults,
    clock: cloud.ctx.clock,
    handler: async (req) => {
      if (req.path.endsWith('/.well-known/openid-configuration')) {
        return {
          status: 200,
          body: {
            issuer,
            jwks_uri: `${issuer}openid/v1/jwks`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          },
        };
      }
      if (req.path.endsWith('/openid/v1/jwks')) return { status: 200, body: jwks(key) };
      return undefined;
    },
  });
  issuer = `${host.url}/${cloud.ctx.state.azure.tenant.id}/${crypto.randomUUID()}/`;
  return {
    issuer,
    sign: (claims) => {
      const now = cloud.ctx.clock.nowSeconds();
      return signJwt(key, {
        iss: issuer,
        aud: [TOKEN_EXCHANGE_AUDIENCE],
        iat: now,
        nbf: now,
        exp: now + 3600,
        ...claims,
      });
    },
    close: () => host.close(),
  };
}

/** The claims of a JWT (tests read the access tokens the emulator issued). */
export function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
