/**
 * OpenID Connect Discovery 1.0 (§4): an issuer's metadata, fetched once per isolate (a failure is
 * not kept, so the next use tries again). The document must name the issuer it was fetched for
 * (§4.3), or a provider could speak for another.
 */
import { PosternError } from '../errors.ts';

export interface ProviderMetadata {
  jwksUri: string;
  /** Present when the issuer supports browser sign-in (authorization code flow). */
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** `code_challenge_methods_supported`, when the provider lists them (RFC 8414 §2). */
  codeChallengeMethods?: string[];
}

const MAX_DISCOVERY_BYTES = 64 * 1024;
const cache = new Map<string, Promise<ProviderMetadata>>();

function fail(issuer: string, why: string): never {
  throw new PosternError('TOKEN_INVALID', `OIDC discovery for ${issuer} ${why}`);
}

async function fetchMetadata(issuer: string): Promise<ProviderMetadata> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) fail(issuer, `failed: HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_DISCOVERY_BYTES) fail(issuer, 'answered a document too large');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fail(issuer, 'answered no JSON');
  }
  if (typeof doc['issuer'] === 'string' && doc['issuer'].replace(/\/$/, '') !== issuer)
    fail(issuer, `names another issuer (${doc['issuer']})`);
  if (typeof doc['jwks_uri'] !== 'string') fail(issuer, 'has no jwks_uri');
  const str = (k: string) => (typeof doc[k] === 'string' ? (doc[k] as string) : undefined);
  const methods = doc['code_challenge_methods_supported'];
  return {
    jwksUri: doc['jwks_uri'],
    ...(str('authorization_endpoint') ? { authorizationEndpoint: str('authorization_endpoint')! } : {}),
    ...(str('token_endpoint') ? { tokenEndpoint: str('token_endpoint')! } : {}),
    ...(Array.isArray(methods) ? { codeChallengeMethods: methods.filter((m) => typeof m === 'string') } : {}),
  };
}

/** `issuer` without a trailing slash, as parseIssuerConfigs keeps it. */
export function discoverProvider(issuer: string): Promise<ProviderMetadata> {
  let p = cache.get(issuer);
  if (!p) {
    p = fetchMetadata(issuer);
    cache.set(issuer, p);
    p.catch(() => cache.delete(issuer)); // retry discovery next time
  }
  return p;
}
