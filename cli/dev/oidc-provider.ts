/**
 * A real local OpenID provider (oidc-provider) for the stack and the tests: client-credentials
 * clients that receive RS256 JWT access tokens for one audience (resource indicator), with a
 * `groups` claim taken from the client's configuration.
 */
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';

export interface OidcClient {
  clientId: string;
  clientSecret: string;
  groups: string[];
  /** This client's access token lifetime (tests of token expiry); the provider's otherwise. */
  ttlSeconds?: number;
}

/** Imports oidc-provider without its start-up notices (runtime version, in-memory adapter): fine for dev. */
async function loadProvider(): Promise<typeof import('oidc-provider').default> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
}

export async function startOidcProvider(opts: {
  port?: number;
  audience: string;
  clients: OidcClient[];
  accessTokenTtlSeconds?: number;
}) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `dev-${Date.now().toString(36)}`,
    alg: 'RS256',
    use: 'sig',
  };
  const groupsByClient = new Map(opts.clients.map((c) => [c.clientId, c.groups]));
  const ttlByClient = new Map(opts.clients.map((c) => [c.clientId, c.ttlSeconds]));
  const http = createServer();
  await new Promise<void>((r) => http.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;
  const ttl = opts.accessTokenTtlSeconds ?? 600;

  const Provider = await loadProvider();
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => opts.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== opts.audience) throw new Error(`unknown resource ${resource}`);
          return {
            scope: '',
            audience: opts.audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) => ({
      groups: groupsByClient.get(token.clientId ?? '') ?? [],
    }),
    ttl: {
      ClientCredentials: (_ctx: unknown, _token: unknown, client: { clientId?: string }) =>
        ttlByClient.get(client?.clientId ?? '') ?? ttl,
    },
  } as ConstructorParameters<typeof Provider>[1]);
  console.warn = warn;
  provider.on('server_error', (_ctx: unknown, err: Error) => console.error(`oidc-provider: ${err.message}`));
  http.on('request', provider.callback());

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
  };
  return {
    issuer,
    tokenEndpoint: discovery.token_endpoint,
    stop: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
