/**
 * Trusted issuers, validated when the verifier is built (style.md #5), not on first use.
 */
import { PosternError } from '../errors.ts';

export interface IssuerConfig {
  issuer: string;
  audience: string | string[];
  jwksUri?: string;
  algorithms: string[];
  maxTokenLifetimeSeconds: number;
  clockToleranceSeconds: number;
  subjectClaim: string;
  /** Dot path, e.g. "groups" or "realm_access.roles". */
  groupsClaim: string;
  attributeClaims: string[];
  /**
   * Browser sign-in to the web console (docs/console.md): this issuer's OAuth client for the
   * authorization code flow with PKCE. Its secret, when it has one, is a Worker secret
   * (CONSOLE_CLIENT_SECRETS), never here: TRUSTED_ISSUERS is a plain variable.
   */
  console?: { clientId: string; scopes: string };
}

/** Scopes asked for at sign-in when the config names none: the id token must carry the groups. */
export const DEFAULT_CONSOLE_SCOPES = 'openid email profile groups';

/** Asymmetric algorithms only: `none` is never a signature, and HS* with a public key is forgeable. */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'];

function fail(message: string): never {
  throw new PosternError('CONFIG_INVALID', `TRUSTED_ISSUERS: ${message}`);
}

function checkUrl(value: unknown, what: string, allowInsecure: boolean): string {
  if (typeof value !== 'string') fail(`${what} must be a URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${what} is not a URL: ${value}`);
  }
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:'))
    fail(`${what} must use https: ${value}`);
  return value;
}

export function parseIssuerConfigs(json: string, opts: { allowInsecure: boolean }): IssuerConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json || '[]');
  } catch {
    fail('not valid JSON');
  }
  if (!Array.isArray(raw)) fail('must be a JSON array');
  return raw.map((entry: unknown, i): IssuerConfig => {
    if (typeof entry !== 'object' || entry === null) fail(`entry ${i} must be an object`);
    const e = entry as Record<string, unknown>;
    const issuer = checkUrl(e['issuer'], `entry ${i} issuer`, opts.allowInsecure).replace(/\/$/, '');
    const audience = e['audience'];
    if (
      !(typeof audience === 'string' && audience) &&
      !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string'))
    ) {
      fail(`entry ${i} (${issuer}) needs an audience`);
    }
    const algorithms = (e['algorithms'] as string[] | undefined) ?? DEFAULT_ALGORITHMS;
    if (!Array.isArray(algorithms) || algorithms.length === 0)
      fail(`entry ${i} algorithms must be a non-empty array`);
    for (const alg of algorithms) {
      if (!ALLOWED_ALGORITHMS.includes(alg))
        fail(`entry ${i} algorithm ${String(alg)} is not allowed (only ${ALLOWED_ALGORITHMS.join(', ')})`);
    }
    const num = (k: string, d: number, max: number) => {
      const v = e[k] ?? d;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)
        fail(`entry ${i} ${k} must be a number in 0..${max}`);
      return v;
    };
    const str = (k: string, d: string) => {
      const v = e[k] ?? d;
      if (typeof v !== 'string' || !v) fail(`entry ${i} ${k} must be a string`);
      return v;
    };
    const attributeClaims = (e['attributeClaims'] as string[] | undefined) ?? [];
    if (!Array.isArray(attributeClaims) || !attributeClaims.every((a) => typeof a === 'string'))
      fail(`entry ${i} attributeClaims must be strings`);
    const config: IssuerConfig = {
      issuer,
      audience: audience as string | string[],
      algorithms,
      maxTokenLifetimeSeconds: num('maxTokenLifetimeSeconds', 3600, 86_400),
      clockToleranceSeconds: num('clockToleranceSeconds', 30, 300),
      subjectClaim: str('subjectClaim', 'sub'),
      groupsClaim: str('groupsClaim', 'groups'),
      attributeClaims,
    };
    if (e['console'] !== undefined) {
      const c = e['console'] as Record<string, unknown> | null;
      const clientId = typeof c === 'object' && c !== null ? c['clientId'] : undefined;
      const scopes =
        typeof c === 'object' && c !== null ? (c['scopes'] ?? DEFAULT_CONSOLE_SCOPES) : undefined;
      if (typeof clientId !== 'string' || !clientId || clientId.length > 256)
        fail(`entry ${i} console.clientId must be a non-empty string`);
      if (typeof scopes !== 'string' || !scopes.split(' ').includes('openid'))
        fail(`entry ${i} console.scopes must be a space-separated string that includes openid`);
      config.console = { clientId, scopes };
    }
    if (e['jwksUri'] !== undefined)
      config.jwksUri = checkUrl(e['jwksUri'], `entry ${i} jwksUri`, opts.allowInsecure);
    return config;
  });
}
