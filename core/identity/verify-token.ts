/**
 * OIDC token verification: the issuer picks the config, jose checks the signature (JWKS fetched
 * and cached per isolate), iss, aud, exp/nbf with leeway and the algorithm allowlist; we add a
 * maximum lifetime and map claims to an Identity. `now` is passed in (style.md #3).
 */
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { PosternError } from '../errors.ts';
import type { Identity } from './identity.ts';
import type { IssuerConfig } from './issuer-config.ts';
import { discoverProvider } from './discovery.ts';

export const MAX_TOKEN_BYTES = 16 * 1024;
const MAX_GROUPS = 256;
const MAX_CLAIM_CHARS = 256;

type KeyGetter = ReturnType<typeof createRemoteJWKSet>;
// Per isolate: reused across requests so keys are fetched once and rotation is handled by jose.
const jwksCache = new Map<string, KeyGetter>();

export interface TokenVerifier {
  /**
   * `expect.nonce`: an OpenID Connect ID token's `nonce` must equal it (OIDC Core 3.1.3.7 step 11;
   * the web console's sign-in, docs/console.md). Claims named in `expect.alsoRead` come back in
   * `attributes` beside the configured attribute claims.
   */
  verify(token: string, now: Date, expect?: { nonce?: string; alsoRead?: string[] }): Promise<Identity>;
}

function invalid(message: string): never {
  throw new PosternError('TOKEN_INVALID', message);
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function groupsOf(payload: JWTPayload, path: string): string[] {
  const v = claimAt(payload, path);
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
  return list
    .filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= MAX_CLAIM_CHARS)
    .slice(0, MAX_GROUPS);
}

export function createTokenVerifier(configs: IssuerConfig[]): TokenVerifier {
  const byIssuer = new Map(configs.map((c) => [c.issuer, c]));
  return {
    async verify(
      token: string,
      now: Date,
      expect?: { nonce?: string; alsoRead?: string[] },
    ): Promise<Identity> {
      if (typeof token !== 'string' || token.length === 0) invalid('no token');
      if (token.length > MAX_TOKEN_BYTES) invalid('token too long');
      let unverified: JWTPayload;
      try {
        unverified = decodeJwt(token);
      } catch {
        invalid('token is not a JWT');
      }
      const config =
        typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss.replace(/\/$/, '')) : undefined;
      if (!config)
        throw new PosternError('TOKEN_UNTRUSTED_ISSUER', `issuer ${String(unverified.iss)} is not trusted`);
      const jwksUri = config.jwksUri ?? (await discoverProvider(config.issuer)).jwksUri;
      let keys = jwksCache.get(jwksUri);
      if (!keys) {
        keys = createRemoteJWKSet(new URL(jwksUri));
        jwksCache.set(jwksUri, keys);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: [config.issuer, config.issuer + '/'],
          audience: config.audience,
          algorithms: config.algorithms,
          clockTolerance: config.clockToleranceSeconds,
          currentDate: now,
          requiredClaims: ['exp', 'iat'],
        }));
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw new PosternError('TOKEN_EXPIRED', 'token expired');
        invalid(`token rejected: ${(e as Error).message}`);
      }
      if (expect?.nonce !== undefined && payload['nonce'] !== expect.nonce) invalid('nonce mismatch');
      const exp = payload.exp!;
      const iat = payload.iat!;
      const nowS = Math.floor(now.getTime() / 1000);
      if (iat > nowS + config.clockToleranceSeconds) invalid('token issued in the future');
      if (exp - iat > config.maxTokenLifetimeSeconds)
        invalid(`token lifetime ${exp - iat}s exceeds ${config.maxTokenLifetimeSeconds}s`);
      const subject = claimAt(payload, config.subjectClaim);
      if (typeof subject !== 'string' || !subject || subject.length > MAX_CLAIM_CHARS)
        invalid('token has no usable subject');
      const attributes: Record<string, string> = {};
      for (const name of [...config.attributeClaims, ...(expect?.alsoRead ?? [])]) {
        const v = claimAt(payload, name);
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
          attributes[name] = String(v).slice(0, MAX_CLAIM_CHARS);
      }
      const identity: Identity = {
        issuer: config.issuer,
        subject,
        groups: groupsOf(payload, config.groupsClaim),
        attributes,
        expiresAt: exp,
      };
      if (typeof payload.jti === 'string') identity.tokenId = payload.jti.slice(0, MAX_CLAIM_CHARS);
      return identity;
    },
  };
}
