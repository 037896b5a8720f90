/**
 * Workload identity federation: ClientAssertionCredential whose assertion is a fresh pipeline
 * OIDC token per exchange. When the OIDC request fails, the caller gets our UserError (status,
 * cause, fix) rather than the identity library's message-only wrapper.
 *
 * One OIDC request per exchange: MSAL asks the assertion callback twice per acquisition (the
 * request's assertion, then the app configuration's); both questions of one exchange get the one
 * token (scoped with AsyncLocalStorage, so concurrent exchanges never share a token).
 *
 * One MSAL application per credential: every exchange goes without CAE. The ARM clients' pipeline
 * asks with `enableCae: true`, which @azure/identity serves from a second ConfidentialClientApplication
 * (a second authority discovery, and a cache of its own); the task's tokens live minutes, and ARM
 * accepts tokens without the CAE capability.
 *
 * The Entra access tokens (not the OIDC assertions) are cached per scope until 5 minutes before
 * they expire: MSAL asks the assertion callback before it looks at its own cache, so without this
 * every getToken of every client (two ARM clients, Azure DevOps) cost one or two OIDC requests.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ClientAssertionCredential,
  type ClientAssertionCredentialOptions,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import { UserError } from '../errors';
import { fetchOidcToken, withFailureMemo } from './oidc';
import type { AuthEnvironment } from './types';

/**
 * Lets an MSAL application's first token request finish before the others start: MSAL discovers
 * the authority (GET …/v2.0/.well-known/openid-configuration) on its first request and caches it,
 * but requests started together each discover it.
 */
export function firstAlone(): <T>(run: () => Promise<T>) => Promise<T> {
  let first: Promise<unknown> | undefined;
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (!first) {
      const p = run();
      first = p.catch(() => undefined);
      return p;
    }
    await first;
    return run();
  };
}

export class FederatedCredential implements TokenCredential {
  private readonly inner: ClientAssertionCredential;
  private readonly takeFailure: () => unknown;
  private readonly cache = new Map<string, Promise<AccessToken | null>>();
  private static readonly REFRESH_MARGIN_MS = 5 * 60 * 1000;
  /** The OIDC token of the exchange in progress (one per exchange). */
  private readonly assertion = new AsyncLocalStorage<{ token?: Promise<string> }>();
  private readonly gate = firstAlone();

  constructor(
    tenantId: string,
    clientId: string,
    env: AuthEnvironment,
    connectionId: string,
    oidcRequestUri: string,
    options: ClientAssertionCredentialOptions,
  ) {
    const memo = withFailureMemo(fetchOidcToken(env, connectionId, oidcRequestUri));
    this.takeFailure = memo.takeFailure;
    const perExchange = this.assertion;
    const assertion = (): Promise<string> => {
      const slot = perExchange.getStore();
      if (!slot) return memo.source();
      slot.token ??= memo.source();
      return slot.token;
    };
    this.inner = new ClientAssertionCredential(tenantId, clientId, assertion, options);
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    // A claims challenge or another tenant must go to Entra; everything else may use the cache.
    if (options?.claims || options?.tenantId) return this.exchange(scopes, options);
    const key = ([] as string[]).concat(scopes).sort().join(' ');
    const cached = this.cache.get(key);
    if (cached) {
      const token = await cached.catch(() => null);
      if (token && token.expiresOnTimestamp - Date.now() > FederatedCredential.REFRESH_MARGIN_MS) return token;
    }
    const fresh = this.exchange(scopes, options);
    this.cache.set(key, fresh);
    fresh.catch(() => this.cache.delete(key));
    return fresh;
  }

  private async exchange(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.takeFailure();
    try {
      const { enableCae: _cae, ...rest } = options ?? {};
      return await this.gate(() => this.assertion.run({}, () => this.inner.getToken(scopes, rest)));
    } catch (err) {
      const ours = this.takeFailure();
      throw ours instanceof UserError ? ours : err;
    }
  }
}
