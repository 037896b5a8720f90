/**
 * Real RS256 JWTs for the emulated token issuers (Entra ID, the Azure DevOps OIDC issuer, each AKS
 * cluster's OIDC issuer). Only node:crypto; verification checks signature, kid, exp/nbf and
 * optionally iss/aud, exactly as a relying party would.
 */
import * as crypto from 'node:crypto';

export interface SigningKey {
  kid: string;
  privateKey: crypto.KeyObject;
  publicJwk: crypto.JsonWebKey & { kid: string; alg: 'RS256'; use: 'sig' };
}

export type JwtClaims = Record<string, unknown> & {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
};

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function createSigningKey(kid: string = crypto.randomUUID()): SigningKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

export function signJwt(key: SigningKey, claims: JwtClaims, header: Record<string, unknown> = {}): string {
  const h = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }));
  const p = b64url(JSON.stringify(claims));
  const sig = crypto.sign('RSA-SHA256', Buffer.from(`${h}.${p}`), key.privateKey);
  return `${h}.${p}.${b64url(sig)}`;
}

export function jwks(...keys: SigningKey[]): { keys: SigningKey['publicJwk'][] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

export interface DecodedJwt {
  header: { alg?: string; kid?: string; typ?: string };
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a compact JWT; throws a plain-language error when it is not one. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('malformed', 'the token is not a compact JWT (three dot-separated parts)');
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')),
      claims: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')),
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    throw new JwtError('malformed', 'the token header or payload is not base64url JSON');
  }
}

export type JwtErrorReason =
  'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'issuer' | 'audience' | 'unknown-key';

export class JwtError extends Error {
  constructor(
    readonly reason: JwtErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

export interface VerifyOptions {
  /** Seconds since epoch (the emulated clock). */
  now: number;
  issuer?: string;
  audience?: string;
  /** Allowed clock skew in seconds (default 0: the emulators are strict). */
  skew?: number;
}

/** Verifies signature and time claims against a JWKS; returns the claims or throws JwtError. */
export function verifyJwt(token: string, keySet: { keys: crypto.JsonWebKey[] }, opts: VerifyOptions): JwtClaims {
  const d = decodeJwt(token);
  if (d.header.alg !== 'RS256') throw new JwtError('signature', `unsupported alg '${String(d.header.alg)}'`);
  const jwk = keySet.keys.find((k) => (k as { kid?: string }).kid === d.header.kid);
  if (!jwk) throw new JwtError('unknown-key', `no key with kid '${String(d.header.kid)}' in the issuer's JWKS`);
  const pub = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  if (!crypto.verify('RSA-SHA256', Buffer.from(d.signingInput), pub, d.signature)) {
    throw new JwtError('signature', 'signature verification failed');
  }
  const skew = opts.skew ?? 0;
  const c = d.claims;
  if (typeof c.exp === 'number' && opts.now > c.exp + skew)
    throw new JwtError('expired', `token expired at ${new Date(c.exp * 1000).toISOString()}`);
  if (typeof c.nbf === 'number' && opts.now + skew < c.nbf)
    throw new JwtError('not-yet-valid', `token not valid before ${new Date(c.nbf * 1000).toISOString()}`);
  if (opts.issuer !== undefined && c.iss !== opts.issuer)
    throw new JwtError('issuer', `issuer '${String(c.iss)}' is not '${opts.issuer}'`);
  if (opts.audience !== undefined) {
    const auds = Array.isArray(c.aud) ? c.aud : [c.aud];
    if (!auds.includes(opts.audience))
      throw new JwtError('audience', `audience '${auds.join(',')}' does not include '${opts.audience}'`);
  }
  return c;
}
