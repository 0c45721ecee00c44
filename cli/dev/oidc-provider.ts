/**
 * A real local OpenID provider (oidc-provider) for the stack and the tests: client-credentials
 * clients that receive RS256 JWT access tokens for one audience (resource indicator), with a
 * `groups` claim taken from the client's configuration; and, for the web console, demo people
 * who sign in with a password through a login form (cli/dev/oidc-login.ts) and a console client
 * (authorization code + PKCE) whose ID tokens carry their email, name and groups.
 */
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import type { Grant } from 'oidc-provider';
import { handleLogin, type DemoPerson } from './oidc-login.ts';

export interface OidcClient {
  clientId: string;
  clientSecret: string;
  groups: string[];
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

/** The web console's client at this provider: a confidential client bound to one redirect URI. */
export interface ConsoleClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export async function startOidcProvider(opts: {
  port?: number;
  audience: string;
  clients: OidcClient[];
  accessTokenTtlSeconds?: number;
  people?: DemoPerson[];
  consoleClient?: ConsoleClient;
}) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `dev-${Date.now().toString(36)}`,
    alg: 'RS256',
    use: 'sig',
  };
  const groupsByClient = new Map(opts.clients.map((c) => [c.clientId, c.groups]));
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
  const people = new Map((opts.people ?? []).map((p) => [p.subject, p]));
  const consoleId = opts.consoleClient?.clientId;
  const provider = new Provider(issuer, {
    clients: [
      ...opts.clients.map((c) => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      ...(opts.consoleClient
        ? [
            {
              client_id: opts.consoleClient.clientId,
              client_secret: opts.consoleClient.clientSecret,
              grant_types: ['authorization_code'],
              response_types: ['code'],
              redirect_uris: [opts.consoleClient.redirectUri],
              token_endpoint_auth_method: 'client_secret_basic',
            },
          ]
        : []),
    ],
    jwks: { keys: [jwk] },
    // Demo people: their claims by scope (OIDC Core 5.4), plus groups.
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    findAccount: (_ctx: unknown, sub: string) => {
      const person = people.get(sub);
      if (!person) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: person.email, name: person.name, groups: person.groups }),
      };
    },
    // The console reads who signed in from the ID token alone (it keeps no access token).
    conformIdTokenClaims: false,
    // A first-party client: no consent screen; the grant covers what it asks for.
    loadExistingGrant: async (ctx: {
      oidc: {
        client: { clientId: string };
        session: { accountId: string; grantIdFor(id: string): string | undefined };
        result?: { consent?: { grantId?: string } };
        params: { scope?: string };
        provider: { Grant: { new (o: object): Grant; find(id: string): Promise<Grant> } };
      };
    }) => {
      const { oidc } = ctx;
      const existing = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      if (existing) return oidc.provider.Grant.find(existing);
      if (oidc.client.clientId !== consoleId) return undefined;
      const grant = new oidc.provider.Grant({
        clientId: oidc.client.clientId,
        accountId: oidc.session.accountId,
      });
      grant.addOIDCScope(oidc.params.scope ?? 'openid');
      await grant.save();
      return grant;
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The console client gets no token for the edge's audience: it signs in, nothing more.
        defaultResource: (_ctx: unknown, client: { clientId: string }) =>
          client.clientId === consoleId ? undefined : opts.audience,
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
    // Every artifact's lifetime set (oidc-provider otherwise prints a notice for each default).
    ttl: {
      ClientCredentials: ttl,
      AccessToken: ttl,
      IdToken: 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Grant: 8 * 3600,
      Session: 8 * 3600,
    },
  } as ConstructorParameters<typeof Provider>[1]);
  console.warn = warn;
  provider.on('server_error', (_ctx: unknown, err: Error) => console.error(`oidc-provider: ${err.message}`));
  const callback = provider.callback();
  http.on('request', (req, res) => {
    // The login form of the demo people; everything else is the provider's.
    if (req.url?.startsWith('/interaction/')) {
      handleLogin(provider, people, req, res).catch((e: Error) => {
        console.error(`oidc login: ${e.message}`);
        if (!res.headersSent) res.writeHead(500).end('login failed');
      });
      return;
    }
    callback(req, res);
  });

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
