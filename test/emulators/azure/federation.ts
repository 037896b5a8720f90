/**
 * How Entra ID gets an external issuer's signing keys: `{iss without trailing slash}/.well-known/openid-configuration`
 * over HTTPS, then its `jwks_uri`. Keys are cached per issuer for a few (emulated) minutes, as Entra
 * caches them; an assertion signed with a key id the cache does not hold makes it fetch again (key
 * rollover); failures are not cached, so a test can fix the issuer and retry.
 */
import type { CloudContext } from '../core/context';
import { httpsRequest } from '../core/context';
import type { JsonWebKey } from 'node:crypto';

export type KeySet = { keys: JsonWebKey[] };

export class IssuerKeyError extends Error {}

const CACHE_MS = 5 * 60 * 1000;

export class IssuerKeys {
  private readonly cache = new Map<string, { at: number; keys: KeySet }>();

  constructor(private readonly ctx: CloudContext) {}

  async get(issuer: string, kid?: string): Promise<KeySet> {
    const hit = this.cache.get(issuer);
    const knowsKid = kid === undefined || hit?.keys.keys.some((k) => (k as { kid?: string }).kid === kid);
    if (hit && knowsKid && this.ctx.clock.now() - hit.at < CACHE_MS) return hit.keys;
    const keys = await this.fetch(issuer);
    this.cache.set(issuer, { at: this.ctx.clock.now(), keys });
    return keys;
  }

  private async fetch(issuer: string): Promise<KeySet> {
    let base: URL;
    try {
      base = new URL(issuer);
    } catch {
      throw new IssuerKeyError(`the issuer '${issuer}' is not a URL`);
    }
    if (base.protocol !== 'https:') throw new IssuerKeyError(`the issuer '${issuer}' does not use https`);
    const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = await this.getJson(discoveryUrl);
    const jwksUri = (doc as { jwks_uri?: unknown }).jwks_uri;
    if (typeof jwksUri !== 'string') throw new IssuerKeyError(`${discoveryUrl} has no jwks_uri`);
    const set = await this.getJson(jwksUri);
    if (!Array.isArray((set as { keys?: unknown }).keys)) throw new IssuerKeyError(`${jwksUri} is not a JWK set`);
    return set as KeySet;
  }

  private async getJson(url: string): Promise<unknown> {
    let res;
    try {
      res = await httpsRequest(this.ctx.ca, url, { headers: { accept: 'application/json' } });
    } catch (e) {
      throw new IssuerKeyError(`GET ${url} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status !== 200) throw new IssuerKeyError(`GET ${url} answered HTTP ${res.status}`);
    try {
      return res.json();
    } catch {
      throw new IssuerKeyError(`GET ${url} did not return JSON`);
    }
  }
}
