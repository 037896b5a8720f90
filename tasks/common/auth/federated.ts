/**
 * Workload identity federation: ClientAssertionCredential whose assertion is a fresh pipeline
 * OIDC token per exchange. When the OIDC request fails, the caller gets our UserError (status,
 * cause, fix) rather than the identity library's message-only wrapper.
 */
import { ClientAssertionCredential, type ClientAssertionCredentialOptions, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { UserError } from '../report/errors';
import { fetchOidcToken, withFailureMemo } from './oidc';
import type { AuthEnvironment } from './types';

export class FederatedCredential implements TokenCredential {
  private readonly inner: ClientAssertionCredential;
  private readonly takeFailure: () => unknown;

  constructor(tenantId: string, clientId: string, env: AuthEnvironment, connectionId: string, oidcRequestUri: string, options: ClientAssertionCredentialOptions) {
    const memo = withFailureMemo(fetchOidcToken(env, connectionId, oidcRequestUri));
    this.takeFailure = memo.takeFailure;
    this.inner = new ClientAssertionCredential(tenantId, clientId, memo.source, options);
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.takeFailure();
    try {
      return await this.inner.getToken(scopes, options);
    } catch (err) {
      const ours = this.takeFailure();
      throw ours instanceof UserError ? ours : err;
    }
  }
}
