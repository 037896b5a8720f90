/**
 * The emulated Entra ID (host `entra`): OpenID metadata, the tenant's signing keys and the token
 * endpoint for the client-credentials grant with a client secret, a certificate assertion, or a
 * federated assertion (workload identity federation), checked the way Entra checks them.
 */
import * as crypto from 'node:crypto';
import type { CloudContext } from '../core/context';
import { decodeJwt, JwtError, verifyJwt, type JwtClaims } from '../core/jwt';
import type { EmuRequest, EmuResponse, Handler } from '../core/host';
import { aadError, AADSTS, type AadErrorSpec } from './aadsts';
import { findPrincipal, type DirectoryEntry } from './directory';
import { IssuerKeyError, IssuerKeys } from './federation';
import type { TenantState } from './model';
import { audienceFor, type TokenService } from './tokens';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/**
 * Clock skew Entra allows on a client assertion's `nbf` and `exp`, the same for certificate and
 * federated assertions: the 5 minutes of Microsoft.IdentityModel's
 * `TokenValidationParameters.DefaultClockSkew` (learn.microsoft.com/dotnet/api/microsoft.identitymodel.tokens.tokenvalidationparameters.defaultclockskew).
 */
const CLOCK_SKEW_SECONDS = 300;

export function createEntraHandler(ctx: CloudContext, tokens: TokenService): Handler {
  const issuerKeys = new IssuerKeys(ctx);
  const base = () => ctx.urls.entra;

  function fail(spec: AadErrorSpec, req?: EmuRequest): never {
    const corr = req?.headers['client-request-id'];
    return aadError(ctx.clock.now(), spec[0], spec[1], spec[2], spec[3], typeof corr === 'string' ? corr : undefined);
  }

  function tenantFor(segment: string): TenantState | undefined {
    const t = ctx.state.azure.tenant;
    const s = segment.toLowerCase();
    return s === t.id.toLowerCase() || s === t.domain.toLowerCase() ? t : undefined;
  }

  function openIdConfiguration(tid: string, v2: boolean): Record<string, unknown> {
    const b = `${base()}/${tid}`;
    const v = v2 ? '/v2.0' : '';
    return {
      token_endpoint: `${b}/oauth2${v}/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${b}/discovery${v}/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2 ? `${b}/v2.0` : tokens.issuer(tid),
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${b}/oauth2${v}/authorize`,
      device_authorization_endpoint: `${b}/oauth2${v}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/oauth2${v}/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${b}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  /** The endpoints a certificate assertion's `aud` may name (v1/v2, tenant id or domain). */
  function tokenEndpoints(t: TenantState): string[] {
    return [t.id, t.domain].flatMap((s) => [`${base()}/${s}/oauth2/v2.0/token`, `${base()}/${s}/oauth2/token`]);
  }

  function resourceFrom(form: URLSearchParams, v2: boolean, req: EmuRequest): string {
    if (!v2) {
      const r = form.get('resource');
      if (!r) fail(AADSTS.missingParameter('resource'), req);
      return r;
    }
    const scope = form.get('scope');
    if (!scope) fail(AADSTS.missingParameter('scope'), req);
    const scopes = scope.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) fail(AADSTS.badScope(scope), req);
    return scopes[0]!.slice(0, -'/.default'.length);
  }

  function checkSecret(entry: DirectoryEntry, secret: string, req: EmuRequest): void {
    const secrets = entry.app?.secrets ?? [];
    const hit = secrets.find(
      (s) => s.value.length === secret.length && crypto.timingSafeEqual(Buffer.from(s.value), Buffer.from(secret)),
    );
    if (!hit) fail(AADSTS.badSecret(entry.appId), req);
    if (hit.expiresOn && Date.parse(hit.expiresOn) <= ctx.clock.now())
      fail(AADSTS.expiredSecret(entry.appId, hit.id ?? 'unnamed'), req);
  }

  function timeCheck(claims: JwtClaims, req: EmuRequest): void {
    const now = ctx.clock.nowSeconds();
    const expired = typeof claims.exp !== 'number' || now > claims.exp + CLOCK_SKEW_SECONDS;
    const early = typeof claims.nbf === 'number' && now + CLOCK_SKEW_SECONDS < claims.nbf;
    if (expired || early) fail(AADSTS.assertionTime(ctx.clock.now(), claims.nbf, claims.exp), req);
  }

  /** A certificate assertion: self-issued (iss = sub = client_id), signed with a registered certificate. */
  function checkCertificateAssertion(entry: DirectoryEntry, assertion: string, t: TenantState, req: EmuRequest): void {
    const d = decodeJwt(assertion);
    const header = d.header as Record<string, unknown>;
    const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
    const thumb = x5tS256 ?? x5t ?? '';
    const cert = (entry.app?.certificates ?? [])
      .map((c) => new crypto.X509Certificate(c.certificatePem))
      .find((c) => {
        const hex = (x5tS256 ? c.fingerprint256 : c.fingerprint).replace(/:/g, '');
        return Buffer.from(hex, 'hex').toString('base64url') === thumb;
      });
    if (!cert) fail(AADSTS.certificateNotRegistered(thumb, entry.appId), req);
    const alg = d.header.alg;
    const key = cert.publicKey;
    const data = Buffer.from(d.signingInput);
    const ok =
      alg === 'RS256'
        ? crypto.verify('sha256', data, key, d.signature)
        : alg === 'PS256'
          ? crypto.verify(
              'sha256',
              data,
              {
                key,
                padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
                saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
              },
              d.signature,
            )
          : false;
    if (!ok) fail(AADSTS.certificateSignature(), req);
    const aud = Array.isArray(d.claims.aud) ? d.claims.aud : [d.claims.aud];
    if (!aud.some((a) => typeof a === 'string' && tokenEndpoints(t).includes(a)))
      fail(AADSTS.assertionAudience(aud.join(',')), req);
    timeCheck(d.claims, req);
  }

  /** A federated assertion: verified against its issuer's JWKS, then matched against the federated credentials. */
  async function checkFederatedAssertion(
    entry: DirectoryEntry,
    assertion: string,
    t: TenantState,
    req: EmuRequest,
  ): Promise<void> {
    const d = decodeJwt(assertion);
    const iss = typeof d.claims.iss === 'string' ? d.claims.iss : '';
    const sub = typeof d.claims.sub === 'string' ? d.claims.sub : '';
    const auds = (Array.isArray(d.claims.aud) ? d.claims.aud : [d.claims.aud]).filter(
      (a): a is string => typeof a === 'string',
    );
    const fics = entry.federatedIdentityCredentials;
    if (fics.length === 0) fail(AADSTS.noFics(entry.appId, entry.displayName), req);
    const generic = t.federationErrors === 'generic';
    const noMatch = AADSTS.noMatch(iss, sub, auds.join(','));

    const byIssuer = fics.filter((f) => f.issuer === iss);
    if (byIssuer.length === 0) fail(generic ? noMatch : AADSTS.issuerMismatch(iss), req);

    let keys;
    try {
      keys = await issuerKeys.get(iss, typeof d.header.kid === 'string' ? d.header.kid : undefined);
    } catch (e) {
      if (e instanceof IssuerKeyError) fail(AADSTS.issuerUnreachable(iss, e.message), req);
      throw e;
    }
    try {
      // Lifetime is checked by timeCheck (the same rule as certificate assertions); the skew here
      // only keeps verifyJwt from answering first with a different reading of it.
      verifyJwt(assertion, keys, { now: ctx.clock.nowSeconds(), skew: CLOCK_SKEW_SECONDS });
    } catch (e) {
      if (!(e instanceof JwtError)) throw e;
      if (e.reason === 'expired' || e.reason === 'not-yet-valid')
        fail(AADSTS.assertionTime(ctx.clock.now(), d.claims.nbf, d.claims.exp), req);
      if (e.reason === 'unknown-key') fail(AADSTS.signingKeyNotFound(String(d.header.kid ?? ''), iss), req);
      fail(AADSTS.assertionSignature(e.message), req);
    }
    timeCheck(d.claims, req);

    const bySubject = byIssuer.filter((f) => f.subject === sub);
    if (bySubject.length === 0) {
      // Issuer and subject each known, but not on the same credential: only the generic error fits.
      const subjectElsewhere = fics.some((f) => f.subject === sub);
      fail(generic || subjectElsewhere ? noMatch : AADSTS.subjectMismatch(sub), req);
    }
    const match = bySubject.find((f) => f.audiences.some((a) => auds.includes(a)));
    if (!match) fail(generic ? noMatch : AADSTS.audienceMismatch(auds.join(',')), req);
    const delay = t.ficPropagationDelayMs ?? 0;
    if (delay > 0 && match.createdAt !== undefined && ctx.clock.now() < match.createdAt + delay) fail(noMatch, req);
  }

  async function token(req: EmuRequest, tenantSegment: string, v2: boolean): Promise<EmuResponse> {
    const t = tenantFor(tenantSegment);
    if (!t) fail(AADSTS.tenantNotFound(tenantSegment), req);
    const form = req.form();
    const grant = form.get('grant_type') ?? '';
    if (grant !== 'client_credentials')
      fail(grant ? AADSTS.unsupportedGrant(grant) : AADSTS.missingParameter('grant_type'), req);
    const clientId = form.get('client_id');
    if (!clientId) fail(AADSTS.missingParameter('client_id'), req);
    const resource = resourceFrom(form, v2, req);
    const audience = audienceFor(resource, ctx.urls.arm);
    if (!audience) fail(AADSTS.unknownResource(resource, t.id), req);

    const entry = findPrincipal(ctx.state.azure, clientId, ctx.clock.now(), 'appId');
    if (!entry) fail(AADSTS.unknownClient(clientId, t.domain), req);

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    let appidacr: '1' | '2';
    if (secret !== null) {
      checkSecret(entry, secret, req);
      appidacr = '1';
    } else if (assertion !== null) {
      const type = form.get('client_assertion_type') ?? '';
      if (type !== JWT_BEARER) fail(AADSTS.badAssertionType(type), req);
      let claims: JwtClaims;
      try {
        claims = decodeJwt(assertion).claims;
      } catch (e) {
        fail(AADSTS.malformedAssertion(e instanceof Error ? e.message : ''));
      }
      if (claims.iss === clientId && claims.sub === clientId) checkCertificateAssertion(entry, assertion, t, req);
      else await checkFederatedAssertion(entry, assertion, t, req);
      appidacr = '2';
    } else {
      fail(AADSTS.missingCredential(), req);
    }

    const lifetime = t.accessTokenLifetimeSeconds ?? 3599;
    const issued = tokens.issue({
      tenantId: t.id,
      audience,
      objectId: entry.objectId,
      appId: entry.appId,
      lifetimeSeconds: lifetime,
      appidacr,
      resourceId: entry.resourceId,
    });
    const body: Record<string, unknown> = v2
      ? { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: issued.token }
      : {
          token_type: 'Bearer',
          expires_in: String(lifetime),
          ext_expires_in: String(lifetime),
          expires_on: String(issued.exp),
          not_before: String(issued.exp - lifetime),
          resource,
          access_token: issued.token,
        };
    // Issuing a token changes no state: keep it out of the journal's writes.
    return { status: 200, body, write: false, headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' } };
  }

  /**
   * Instance discovery, `GET {login host}/common/discovery/instance?api-version=1.1&authorization_endpoint=…`,
   * which MSAL calls before trusting an authority it does not know (MSAL Python
   * `msal.authority._instance_discovery`; @azure/identity's `disableInstanceDiscovery`, api-contracts D).
   * The emulated Entra knows its own host as an instance (as login.microsoftonline.com knows the public
   * cloud's aliases) and answers any other with AADSTS50049 `invalid_instance`
   * (learn.microsoft.com/entra/identity-platform/reference-error-codes).
   */
  function instanceDiscovery(req: EmuRequest): EmuResponse {
    const endpoint = req.url.searchParams.get('authorization_endpoint') ?? '';
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    const own = new URL(base());
    // MSAL names the host without its port (msal.authority: 'https://{instance}{path}/oauth2/v2.0/authorize').
    if (!url || url.hostname !== own.hostname || !/\/oauth2\/(v2\.0\/)?authorize$/.test(url.pathname)) {
      fail([400, 'invalid_instance', 50049, 'Unknown or invalid instance.'], req);
    }
    const v2 = url.pathname.endsWith('/v2.0/authorize');
    const tenantPath = url.pathname.replace(/\/oauth2\/(v2\.0\/)?authorize$/, '');
    return {
      status: 200,
      write: false,
      body: {
        tenant_discovery_endpoint: `${own.origin}${tenantPath}${v2 ? '/v2.0' : ''}/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: own.host, preferred_cache: own.host, aliases: [own.host] }],
      },
    };
  }

  return async (req) => {
    const seg = req.path.split('/').filter(Boolean);
    const [tenantSeg, ...rest] = seg;
    if (!tenantSeg) return undefined;
    const route = rest.join('/');
    if (req.method === 'GET' && tenantSeg === 'common' && route === 'discovery/instance') return instanceDiscovery(req);
    if (
      req.method === 'GET' &&
      (route === 'v2.0/.well-known/openid-configuration' || route === '.well-known/openid-configuration')
    ) {
      const t = tenantFor(tenantSeg);
      if (!t) fail(AADSTS.tenantNotFound(tenantSeg), req);
      return { status: 200, body: openIdConfiguration(t.id, route.startsWith('v2.0')) };
    }
    if (req.method === 'GET' && (route === 'discovery/v2.0/keys' || route === 'discovery/keys')) {
      const t = tenantFor(tenantSeg);
      if (!t && tenantSeg !== 'common') fail(AADSTS.tenantNotFound(tenantSeg), req);
      return { status: 200, body: tokens.jwks() };
    }
    if (req.method === 'POST' && route === 'oauth2/v2.0/token') return token(req, tenantSeg, true);
    if (req.method === 'POST' && route === 'oauth2/token') return token(req, tenantSeg, false);
    return undefined;
  };
}
