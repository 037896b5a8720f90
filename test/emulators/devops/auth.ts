/**
 * Who is calling: an Entra access token for Azure DevOps (verified by the Entra emulator, mapped to
 * an organization member through its `oid`), or the job's System.AccessToken (issued here, the
 * project build service identity). Bearer or Basic (any user name, the token as password, like a
 * PAT). The rejections are the service's: VS30063 for a bad/expired token, TF401444 for a principal
 * that is not in the organization, TF400813 for one without an access level.
 */
import * as crypto from 'node:crypto';
import type { EmuRequest } from '../core/host';
import {
  createSigningKey,
  decodeJwt,
  signJwt,
  verifyJwt,
  JwtError,
  type JwtClaims,
  type SigningKey,
} from '../core/jwt';
import type { CloudContext } from '../core/context';
import { AZURE_DEVOPS_RESOURCE_ID } from '../names';
import { TF, vssError } from './errors';
import { principalByOrigin, principalView, sameId, type IdentityView } from './identity';
import type { DevOpsState, PrincipalState } from './model';

/** `iss` of System.AccessToken (as the real job tokens carry). */
export const SYSTEM_TOKEN_ISSUER = 'app.vstoken.visualstudio.com';

export interface SystemTokenClaims extends JwtClaims {
  nameid: string;
  scp: string;
  aui: string;
  sid: string;
  orgId: string;
  projectId: string;
  planId: string;
  jobId: string;
}

export interface Caller {
  identity: IdentityView;
  principal: PrincipalState;
  via: 'entra' | 'system';
  /** Present for System.AccessToken callers. */
  job?: SystemTokenClaims;
}

export class Authenticator {
  private readonly key: SigningKey = createSigningKey(`systoken-${crypto.randomUUID()}`);

  constructor(private readonly cloud: CloudContext) {}

  private get state(): DevOpsState {
    return this.cloud.state.devops;
  }

  /** A System.AccessToken for the pipeline job in the state (the build service of its project). */
  issueSystemToken(): string {
    const s = this.state;
    const build = s.principals.find((p) => p.kind === 'build' && sameId(p.projectId, s.pipeline.projectId));
    if (!build)
      throw new Error(
        `devops state: no build service identity (kind: build) for the pipeline project ${s.pipeline.projectId}; add one to devops.principals`,
      );
    const now = this.cloud.clock.nowSeconds();
    const claims: SystemTokenClaims = {
      nameid: build.id,
      scp: 'app_token',
      aui: crypto.randomUUID(),
      sid: crypto.randomUUID(),
      orgId: s.organization.id,
      projectId: s.pipeline.projectId,
      planId: s.pipeline.planId,
      jobId: s.pipeline.jobId,
      iss: SYSTEM_TOKEN_ISSUER,
      aud: `${SYSTEM_TOKEN_ISSUER}|vso:${s.organization.id}`,
      nbf: now,
      iat: now,
      exp: now + (s.faults?.systemAccessTokenLifetimeSeconds ?? 3900),
    };
    return signJwt(this.key, claims);
  }

  /** The raw token of a request (Bearer, or Basic with the token as password), if any. */
  static tokenOf(req: EmuRequest): string | undefined {
    const bearer = req.bearer();
    if (bearer) return bearer;
    const m = /^basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!.trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const pass = i >= 0 ? decoded.slice(i + 1) : decoded;
    return pass || undefined;
  }

  /** Headers of a 401, as the service sends them (the tenant to authenticate against). */
  challenge(hostUrl: string): Record<string, string> {
    const tenant = this.state.organization.tenantId;
    return {
      'www-authenticate': `Bearer authorization_uri=${this.cloud.urls.entra}/${tenant}, Basic realm="${hostUrl}/"`,
      'x-vss-resourcetenant': tenant,
    };
  }

  /**
   * Authenticates a request. Undefined for an anonymous request when `allowAnonymous`; throws the
   * service's 401 otherwise.
   */
  authenticate(req: EmuRequest, orgUrl: string, hostUrl: string, allowAnonymous = false): Caller | undefined {
    // Two Authorization headers (e.g. an http.extraheader next to git's own credentials): HTTP lets
    // a server combine them into one comma-separated value (RFC 9110 5.3), which is no valid
    // credential, so the service answers 401; it never picks the first one.
    const all = req.raw.headersDistinct?.authorization ?? [];
    if (all.length > 1)
      throw vssError(401, 'UnauthorizedRequestException', TF.notAuthorized(orgUrl), 'Framework', {
        ...this.challenge(hostUrl),
        'x-emulator-reason': 'several-authorization-headers',
      });
    const token = Authenticator.tokenOf(req);
    if (!token) {
      if (allowAnonymous) return undefined;
      throw vssError(401, 'UnauthorizedRequestException', TF.anonymous(), 'Framework', this.challenge(hostUrl));
    }
    let iss: unknown;
    try {
      iss = decodeJwt(token).claims.iss;
    } catch {
      iss = undefined;
    }
    if (iss === SYSTEM_TOKEN_ISSUER) return this.systemCaller(token, orgUrl, hostUrl);
    return this.entraCaller(token, orgUrl, hostUrl);
  }

  private systemCaller(token: string, orgUrl: string, hostUrl: string): Caller {
    let claims: SystemTokenClaims;
    try {
      claims = verifyJwt(
        token,
        { keys: [this.key.publicJwk] },
        { now: this.cloud.clock.nowSeconds() },
      ) as SystemTokenClaims;
    } catch (e) {
      const reason = e instanceof JwtError ? e.reason : 'malformed';
      throw vssError(401, 'UnauthorizedRequestException', TF.notAuthorized(orgUrl), 'Framework', {
        ...this.challenge(hostUrl),
        'x-emulator-reason': `system-token-${reason}`,
      });
    }
    const s = this.state;
    const build = s.principals.find((p) => p.kind === 'build' && sameId(p.id, claims.nameid));
    if (!build || !sameId(claims.orgId, s.organization.id)) {
      throw vssError(401, 'UnauthorizedRequestException', TF.notAuthorized(orgUrl), 'Framework', {
        ...this.challenge(hostUrl),
        'x-emulator-reason': 'system-token-unknown-identity',
      });
    }
    return { identity: principalView(s, build), principal: build, via: 'system', job: claims };
  }

  private entraCaller(token: string, orgUrl: string, hostUrl: string): Caller {
    const check = this.cloud.entra.verifyAccessToken(token, AZURE_DEVOPS_RESOURCE_ID);
    if (!check.ok) {
      throw vssError(401, 'UnauthorizedRequestException', TF.notAuthorized(orgUrl), 'Framework', {
        ...this.challenge(hostUrl),
        'x-emulator-reason': check.code,
      });
    }
    const { oid, tid } = check.claims;
    const s = this.state;
    const p = sameId(tid, s.organization.tenantId) ? principalByOrigin(s, oid) : undefined;
    if (!p || p.license === undefined) {
      throw vssError(
        401,
        'UnauthorizedRequestException',
        TF.notInOrganization(tid, oid),
        'Framework',
        this.challenge(hostUrl),
      );
    }
    if (p.license === 'none') {
      const who = p.kind === 'user' ? (p.principalName ?? oid) : `${tid}\\${oid}`;
      throw vssError(401, 'UnauthorizedRequestException', TF.noAccessLevel(who), 'Framework', this.challenge(hostUrl));
    }
    // The first authenticated call turns a pending entitlement active.
    if (!p.lastAccessedDate) p.lastAccessedDate = this.cloud.clock.iso();
    return { identity: principalView(s, p), principal: p, via: 'entra' };
  }
}

/** Stakeholders cannot use Azure Repos in private projects: the repository "does not exist". */
export function canUseRepos(caller: Caller): boolean {
  return (
    caller.principal.kind === 'build' ||
    (caller.principal.license !== undefined &&
      caller.principal.license !== 'stakeholder' &&
      caller.principal.license !== 'none')
  );
}
