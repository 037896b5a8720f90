/**
 * The end-to-end proof, exactly the chain a Flux controller walks: a service-account token for
 * audience api://AzureADTokenExchange (TokenRequest), exchanged at Entra as the identity's clientId
 * (ClientAssertionCredential, i.e. a client_credentials grant with the token as the assertion),
 * then a read of the repository's refs with the Azure DevOps token. For image automation, the
 * same token's caller is asked whether it may Contribute (permissionevaluationbatch).
 * Every token is registered as a secret the moment it exists and is dropped afterwards.
 */
import { ClientAssertionCredential } from '@azure/identity';
import type { ProxySettings } from '@azure/core-rest-pipeline';
import { DEVOPS_SCOPE } from '../auth/types';
import { GIT_REPOSITORIES_NAMESPACE, GitPermission, repoToken } from '../devops/security';
import type { KubeClient } from '../kube/client';
import { KubeError } from '../kube/model';
import type { Logger } from '../log';
import { evaluateAs, readRefsAs } from '../devops/raw';
import { RetryPolicy } from '../http/retry';
import type { IdentityFacts, TokenProofFacts } from './model';
import { IMAGE_AUTOMATION_SA, TOKEN_AUDIENCE } from './model';

export interface ProofContext {
  kube: KubeClient;
  namespace: string;
  identity: Pick<IdentityFacts, 'clientId' | 'tenantId'> | null;
  /** Entra authority host of the AzureRM connection's cloud (https://login.microsoftonline.com). */
  authorityHost: string;
  /** The agent's proxy for the Entra exchange, when one is configured and not bypassed. */
  proxyOptions?: ProxySettings;
  organizationUrl: string;
  project: string;
  repository: string;
  log: Logger;
  /**
   * How long to keep retrying an exchange Entra refuses with AADSTS70021/7002xx while the
   * federated credential itself looks right (new credentials take minutes to propagate); 0: no retry.
   */
  propagationRetryMs?: number;
  /** The run's retry policy: the propagation retry and the raw Azure DevOps reads run under it. */
  retry?: RetryPolicy;
  /** Test seam: builds the credential (default ClientAssertionCredential). */
  exchange?: (
    tenantId: string,
    clientId: string,
    assertion: string,
  ) => Promise<{ token: string; expiresOnTimestamp?: number }>;
}

/** Claims of a JWT, unverified: only for evidence (iss/sub/aud), never for trust decisions. */
export function jwtClaims(token: string): { iss?: string; sub?: string; aud?: string | string[]; exp?: number } {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iss?: string;
      sub?: string;
      aud?: string | string[];
      exp?: number;
    };
  } catch {
    return {};
  }
}

interface AuthErrorLike {
  message?: unknown;
  errorResponse?: { errorDescription?: unknown };
}

/** The Entra error text (AADSTS…) of a failed getToken, without the trace lines. */
export function entraErrorText(err: unknown): string {
  const e = (err && typeof err === 'object' ? err : {}) as AuthErrorLike;
  const description =
    typeof e.errorResponse?.errorDescription === 'string' ? e.errorResponse.errorDescription : undefined;
  const text = description ?? (typeof e.message === 'string' ? e.message : String(err));
  const aad = /AADSTS\d+:[^\r\n]*/.exec(text);
  return aad ? aad[0] : text.split(/\r?\n/)[0];
}

async function defaultExchange(
  authorityHost: string,
  proxyOptions: ProxySettings | undefined,
  tenantId: string,
  clientId: string,
  assertion: string,
): Promise<{ token: string; expiresOnTimestamp?: number }> {
  const cred = new ClientAssertionCredential(tenantId, clientId, async () => assertion, {
    authorityHost,
    disableInstanceDiscovery: true,
    ...(proxyOptions ? { proxyOptions } : {}),
  });
  const t = await cred.getToken(DEVOPS_SCOPE);
  if (!t?.token) throw new Error('Entra returned no access token');
  return t;
}

export async function proveServiceAccount(sa: string, ctx: ProofContext): Promise<TokenProofFacts> {
  const facts: TokenProofFacts = { serviceAccount: sa, tokenRequest: { ok: false, error: 'not attempted' } };
  let saToken: string;
  try {
    const tr = await ctx.kube.requestToken(ctx.namespace, sa, TOKEN_AUDIENCE, 600);
    saToken = tr.token;
    ctx.log.secret(saToken);
    const claims = jwtClaims(saToken);
    facts.tokenRequest = {
      ok: true,
      issuer: claims.iss ?? '?',
      subject: claims.sub ?? '?',
      audiences: Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [],
      ...(tr.expirationTimestamp ? { expiresAt: tr.expirationTimestamp } : {}),
    };
  } catch (err) {
    facts.tokenRequest = {
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      ...(err instanceof KubeError ? { status: err.statusCode } : {}),
    };
    return facts;
  }
  if (!ctx.identity) return facts;

  let devopsToken: string;
  const exchange =
    ctx.exchange ??
    ((tenant, client, assertion) => defaultExchange(ctx.authorityHost, ctx.proxyOptions, tenant, client, assertion));
  const retry = ctx.retry ?? new RetryPolicy({ log: ctx.log });
  // Entra's AADSTS codes for a federated credential it does not see yet (new ones take minutes to propagate).
  const budget = ctx.propagationRetryMs ?? 0;
  const propagating = (err: unknown) => /AADSTS(70021|700211|700212|700213)\b/.test(entraErrorText(err));
  try {
    const t = await retry
      .with({
        maxAttempts: 100,
        baseDelayMs: 5000,
        maxTotalMs: budget,
        retryOn: budget > 0 ? propagating : () => false,
      })
      .run(`the exchange of the ${sa} token (federated credential not propagated yet)`, () =>
        exchange(ctx.identity!.tenantId, ctx.identity!.clientId, saToken),
      );
    devopsToken = t.token;
    ctx.log.secret(devopsToken);
    facts.exchange = {
      ok: true,
      ...(t.expiresOnTimestamp ? { expiresOn: new Date(t.expiresOnTimestamp).toISOString() } : {}),
    };
  } catch (err) {
    facts.exchange = { ok: false, error: entraErrorText(err) };
    return facts;
  }

  const refs = await readRefsAs(ctx.organizationUrl, devopsToken, ctx.project, ctx.repository, retry);
  if (!refs.ok) {
    facts.repoRead = { ok: false, status: refs.status, error: refs.error };
  } else {
    const head = refs.refs.find((r) => r.name === 'refs/heads/main') ?? refs.refs[0];
    facts.repoRead = {
      ok: true,
      refs: refs.refs.length,
      ...(head ? { head: `${head.name} at ${head.objectId.slice(0, 12)}` } : {}),
    };
  }
  if (sa === IMAGE_AUTOMATION_SA && refs.ok) {
    const r = await evaluateAs(
      ctx.organizationUrl,
      devopsToken,
      GIT_REPOSITORIES_NAMESPACE,
      repoToken(refs.repo.projectId, refs.repo.id),
      GitPermission.GenericContribute,
      retry,
    );
    facts.contribute = r.ok ? { ok: true, allowed: r.allowed } : { ok: false, status: r.status, error: r.error };
  }
  return facts;
}
