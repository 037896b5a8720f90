/**
 * Workload identity federation: ClientAssertionCredential whose assertion is a fresh pipeline
 * OIDC token per exchange. When the OIDC request fails, the caller gets our UserError (status,
 * cause, fix) rather than the identity library's message-only wrapper.
 *
 * The Entra access tokens (not the OIDC assertions) are cached per scope until 5 minutes before
 * they expire: MSAL asks the assertion callback before it looks at its own cache, so without this
 * every getToken of every client (two ARM clients, Azure DevOps) cost one or two OIDC requests.
 */
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

export class FederatedCredential implements TokenCredential {
  private readonly inner: ClientAssertionCredential;
  private readonly takeFailure: () => unknown;
  private readonly cache = new Map<string, Promise<AccessToken | null>>();
  private static readonly REFRESH_MARGIN_MS = 5 * 60 * 1000;

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
    this.inner = new ClientAssertionCredential(tenantId, clientId, memo.source, options);
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
      return await this.inner.getToken(scopes, options);
    } catch (err) {
      const ours = this.takeFailure();
      throw ours instanceof UserError ? ours : err;
    }
  }
}
