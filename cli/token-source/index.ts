/**
 * Where the CLI gets its access token, in order: --token, POSTERN_TOKEN, --token-file, OIDC client
 * credentials (flags or POSTERN_ISSUER/_CLIENT_ID/_CLIENT_SECRET), the GitHub Actions OIDC
 * environment. Fetched tokens are cached and refreshed before they expire.
 */
import { readFileSync } from 'node:fs';
import { CliError } from '../errors.ts';
import { jwtExpiry } from './jwt-exp.ts';

export interface TokenSource {
  get(): Promise<string>;
  describe(): string;
}

export interface TokenFlags {
  token?: string;
  tokenFile?: string;
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  audience?: string;
}

export const TOKEN_FLAG_OPTIONS = {
  token: { type: 'string' },
  'token-file': { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  audience: { type: 'string' },
} as const;

export const TOKEN_HELP = `Token (first that is set):
  --token T              an access token (or env POSTERN_TOKEN)
  --token-file PATH      read the token from a file, re-read for every new session
  --issuer URL --client-id ID --client-secret S [--audience A]
                         OIDC client credentials (or env POSTERN_ISSUER, POSTERN_CLIENT_ID,
                         POSTERN_CLIENT_SECRET, POSTERN_AUDIENCE)
  GitHub Actions         ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (needs 'id-token: write')`;

export function staticTokenSource(token: string, what = '--token'): TokenSource {
  return { get: async () => token, describe: () => what };
}

/** Caches a fetched token; refreshes when under 60 s or 20% of its lifetime remain. */
export function cachingSource(
  fetchToken: () => Promise<string>,
  what: string,
  now: () => number = Date.now,
): TokenSource {
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    describe: () => what,
    async get() {
      if (cached && now() < cached.refreshAt) return cached.token;
      inflight ??= (async () => {
        try {
          const token = await fetchToken();
          const exp = jwtExpiry(token);
          const t = now();
          const life = exp ? exp * 1000 - t : 0;
          cached = { token, refreshAt: exp ? t + Math.max(0, Math.min(life - 60_000, life * 0.8)) : t };
          return token;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    },
  };
}

export function clientCredentialsSource(
  issuer: string,
  clientId: string,
  clientSecret: string,
  audience: string | undefined,
): TokenSource {
  return cachingSource(async () => {
    const base = issuer.replace(/\/$/, '');
    let tokenEndpoint: string;
    try {
      const disc = await fetch(`${base}/.well-known/openid-configuration`);
      if (!disc.ok) throw new Error(`HTTP ${disc.status}`);
      tokenEndpoint = ((await disc.json()) as { token_endpoint: string }).token_endpoint;
    } catch (e) {
      throw new CliError(
        'token',
        `could not discover the token endpoint of ${issuer}: ${(e as Error).message} — check --issuer`,
      );
    }
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (audience) {
      body.set('resource', audience); // RFC 8707
      body.set('audience', audience); // Auth0 and friends
    }
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body,
    });
    if (!res.ok) {
      throw new CliError(
        'token',
        `could not get a token from ${issuer}: HTTP ${res.status} — check --client-id/--client-secret${audience ? ' and --audience' : ''}`,
      );
    }
    const json = (await res.json()) as { access_token?: string };
    if (!json.access_token) throw new CliError('token', `${issuer} returned no access_token`);
    return json.access_token;
  }, `client credentials for ${clientId} at ${issuer}`);
}

export function githubActionsSource(
  url: string,
  requestToken: string,
  audience: string | undefined,
): TokenSource {
  return cachingSource(async () => {
    const u = new URL(url);
    if (audience) u.searchParams.set('audience', audience);
    const res = await fetch(u, { headers: { Authorization: `Bearer ${requestToken}` } });
    if (!res.ok)
      throw new CliError(
        'token',
        `GitHub Actions OIDC token request failed: HTTP ${res.status} — does the job have 'permissions: id-token: write'?`,
      );
    const json = (await res.json()) as { value?: string };
    if (!json.value) throw new CliError('token', 'GitHub Actions returned no token');
    return json.value;
  }, 'GitHub Actions OIDC');
}

export function fileTokenSource(path: string): TokenSource {
  return {
    describe: () => `--token-file ${path}`,
    async get() {
      try {
        return readFileSync(path, 'utf8').trim();
      } catch (e) {
        throw new CliError('token', `cannot read --token-file ${path}: ${(e as Error).message}`);
      }
    },
  };
}

export function resolveTokenSource(flags: TokenFlags, env: NodeJS.ProcessEnv = process.env): TokenSource {
  if (flags.token) return staticTokenSource(flags.token, '--token');
  if (env['POSTERN_TOKEN']) return staticTokenSource(env['POSTERN_TOKEN'], 'POSTERN_TOKEN');
  if (flags.tokenFile) return fileTokenSource(flags.tokenFile);
  const issuer = flags.issuer ?? env['POSTERN_ISSUER'];
  const clientId = flags.clientId ?? env['POSTERN_CLIENT_ID'];
  const clientSecret = flags.clientSecret ?? env['POSTERN_CLIENT_SECRET'];
  const audience = flags.audience ?? env['POSTERN_AUDIENCE'];
  if (issuer && clientId && clientSecret)
    return clientCredentialsSource(issuer, clientId, clientSecret, audience);
  if (issuer || clientId || clientSecret) {
    throw new CliError('usage', 'client credentials need all of --issuer, --client-id and --client-secret');
  }
  const ghUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const ghToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  if (ghUrl && ghToken) return githubActionsSource(ghUrl, ghToken, audience);
  throw new CliError(
    'usage',
    'no token: pass --token, --token-file or client credentials (--issuer --client-id --client-secret). ' +
      'Locally, `npm start` prints them',
  );
}

export function tokenFlags(values: Record<string, unknown>): TokenFlags {
  const s = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const flags: TokenFlags = {};
  const map: Array<[keyof TokenFlags, string]> = [
    ['token', 'token'],
    ['tokenFile', 'token-file'],
    ['issuer', 'issuer'],
    ['clientId', 'client-id'],
    ['clientSecret', 'client-secret'],
    ['audience', 'audience'],
  ];
  for (const [key, flag] of map) {
    const v = s(flag);
    if (v !== undefined) flags[key] = v;
  }
  return flags;
}
