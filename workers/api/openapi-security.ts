/**
 * How the public API is authenticated, as the OpenAPI document states it: a bearer token (an
 * OIDC token, or the bootstrap token for the admin routes), or the web console's session cookie
 * (`__Host-postern_session`; plain `postern_session` on plain-http loopback; docs/console.md). A state-changing request (POST, PUT, PATCH, DELETE) made
 * with the cookie must also carry `X-CSRF-Token` (the token `GET /auth/session` answers), so each
 * such operation requires the bearer token OR the cookie AND that header. Pure: the document in,
 * the same document with its security out.
 */

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An OIDC token of a trusted issuer, or the bootstrap token (admin routes)',
  },
  cookie: {
    type: 'apiKey',
    in: 'cookie',
    name: '__Host-postern_session',
    description:
      'The web console session (HttpOnly, set by the sign-in at /auth/login: docs/console.md; named postern_session without the __Host- prefix on plain-http loopback, as under postern dev). A request with an Authorization header is judged by it alone. Not accepted by /v1/connect.',
  },
  csrf: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description:
      'With the cookie, every POST, PUT, PATCH and DELETE carries the csrfToken of GET /auth/session (403 without it).',
  },
} as const;

/** Safe reads: the cookie alone. */
export const READ_SECURITY = [{ bearer: [] }, { cookie: [] }];
/** Writes: the bearer token, or the cookie with the CSRF header. */
export const WRITE_SECURITY = [{ bearer: [] }, { cookie: [], csrf: [] }];

const UNSAFE = new Set(['post', 'put', 'patch', 'delete']);

interface Doc {
  security?: unknown;
  paths?: object;
  components?: { securitySchemes?: object };
}

/** Adds the schemes, the default (read) requirement and each write operation's own. */
export function withSecurity<T extends Doc>(doc: T): T {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const out: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(item as Record<string, unknown>)) {
      const operation = op as { security?: unknown } | undefined;
      // An operation that states its own requirement (the /auth routes) keeps it.
      out[method] =
        UNSAFE.has(method) && operation && typeof operation === 'object' && operation.security === undefined
          ? { ...operation, security: WRITE_SECURITY }
          : op;
    }
    paths[path] = out;
  }
  return {
    ...doc,
    security: READ_SECURITY,
    paths,
    components: {
      ...doc.components,
      securitySchemes: { ...doc.components?.securitySchemes, ...SECURITY_SCHEMES },
    },
  };
}
