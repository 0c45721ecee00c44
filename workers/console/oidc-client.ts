/**
 * The edge as an OpenID Connect relying party for the web console: the authorization request
 * (OIDC Core 3.1.2.1 with PKCE S256, RFC 7636 §4.3) and the code exchange at the token endpoint
 * (RFC 6749 §4.1.3). The ID token it returns is verified by the caller with the bearer tokens'
 * verifier (workers/auth/verifier.ts). Endpoints come from the issuer's discovery document.
 */
import { PosternError } from '../../core/errors.ts';
import { discoverProvider } from '../../core/identity/discovery.ts';
import type { IssuerConfig } from '../../core/identity/issuer-config.ts';
import type { Env } from '../../edge/env.ts';

const MAX_TOKEN_RESPONSE_CHARS = 64 * 1024;

export interface BrowserEndpoints {
  authorization: string;
  token: string;
}

function fail(message: string): never {
  throw new PosternError('TOKEN_INVALID', message);
}

function checkEndpoint(value: string | undefined, what: string, env: Env): string {
  if (!value) fail(`the issuer's discovery document has no ${what}`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && !(env.ALLOW_INSECURE_ISSUERS === '1' && url.protocol === 'http:'))
    fail(`the issuer's ${what} is not https`);
  return value;
}

/** The issuer's authorization and token endpoints; it must support browser sign-in with S256. */
export async function browserEndpoints(config: IssuerConfig, env: Env): Promise<BrowserEndpoints> {
  const meta = await discoverProvider(config.issuer);
  if (meta.codeChallengeMethods && !meta.codeChallengeMethods.includes('S256'))
    fail(`the issuer does not support PKCE S256`);
  return {
    authorization: checkEndpoint(meta.authorizationEndpoint, 'authorization_endpoint', env),
    token: checkEndpoint(meta.tokenEndpoint, 'token_endpoint', env),
  };
}

export function authorizationUrl(
  endpoint: string,
  config: IssuerConfig,
  p: { redirectUri: string; state: string; nonce: string; challenge: string },
): string {
  const url = new URL(endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.console!.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('scope', config.console!.scopes);
  url.searchParams.set('state', p.state);
  url.searchParams.set('nonce', p.nonce);
  url.searchParams.set('code_challenge', p.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/** The client secret of this issuer's console client (CONSOLE_CLIENT_SECRETS), if it has one. */
function clientSecret(env: Env, issuer: string): string | undefined {
  if (!env.CONSOLE_CLIENT_SECRETS) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(env.CONSOLE_CLIENT_SECRETS);
  } catch {
    throw new PosternError('CONFIG_INVALID', 'CONSOLE_CLIENT_SECRETS is not a JSON object');
  }
  const v = (map as Record<string, unknown> | null)?.[issuer];
  return typeof v === 'string' && v ? v : undefined;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined. */
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

/** Trades the authorization code for the ID token (the access token is not kept). */
export async function exchangeCode(
  endpoint: string,
  config: IssuerConfig,
  env: Env,
  p: { code: string; redirectUri: string; verifier: string },
): Promise<string> {
  const clientId = config.console!.clientId;
  const secret = clientSecret(env, config.issuer);
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: p.code,
    redirect_uri: p.redirectUri,
    code_verifier: p.verifier,
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  if (secret) headers['Authorization'] = `Basic ${btoa(`${formEncode(clientId)}:${formEncode(secret)}`)}`;
  else body.set('client_id', clientId); // a public client: PKCE is its proof (RFC 7636 §1)
  const res = await fetch(endpoint, { method: 'POST', headers, body, redirect: 'manual' });
  const text = await res.text();
  if (text.length > MAX_TOKEN_RESPONSE_CHARS) fail('the token endpoint answered too much');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  if (!res.ok) fail(`the token endpoint refused the code: HTTP ${res.status} ${String(json['error'] ?? '')}`);
  const idToken = json['id_token'];
  if (typeof idToken !== 'string' || !idToken) fail('the token endpoint returned no id_token');
  return idToken;
}
