/**
 * Admin API authentication: the bootstrap token (a Worker secret, for first setup), an OIDC
 * token carrying ADMIN_GROUP, or the web console's session cookie of someone in ADMIN_GROUP
 * (with its CSRF check: workers/auth/caller.ts). Failures are generic; the detail goes to the
 * log, never the token.
 */
import type { MiddlewareHandler } from 'hono';
import { constantTimeEqual, sha256Hex } from '../../core/crypto/secrets.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { isPosternError } from '../../core/errors.ts';
import type { Env } from '../../edge/env.ts';
import { readBearer } from './bearer.ts';
import { httpError, UNAUTHORIZED_MESSAGE } from '../../edge/http-errors.ts';
import { getTokenVerifier } from './verifier.ts';
import { cookieIdentity } from '../console/browser-session.ts';
import { withDb } from '../api/app.ts';

export type AdminPrincipal = { kind: 'bootstrap' } | { kind: 'oidc'; identity: Identity };
export type AdminEnv = { Bindings: Env; Variables: { admin: AdminPrincipal } };

const unauthorized = () => httpError(401, 'unauthorized', UNAUTHORIZED_MESSAGE);

export const requireAdmin: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const token = readBearer(c.req.raw);
  if (!token) {
    if (c.req.raw.headers.has('Authorization')) return unauthorized();
    // CSRF refusal throws → 403. The sign-out check uses the request's connection (withDb).
    const identity = await cookieIdentity(c.req.raw, c.env, new Date(), (fn) => withDb(c, fn));
    if (!identity) return unauthorized();
    if (!c.env.ADMIN_GROUP || !identity.groups.includes(c.env.ADMIN_GROUP))
      return httpError(403, 'forbidden', 'you are not in the admin group');
    c.set('admin', { kind: 'oidc', identity });
    return next();
  }
  const bootstrap = c.env.ADMIN_BOOTSTRAP_TOKEN;
  if (bootstrap && !token.includes('.')) {
    // Hash both sides so the comparison time does not depend on where they differ.
    if (constantTimeEqual(await sha256Hex(token), await sha256Hex(bootstrap))) {
      c.set('admin', { kind: 'bootstrap' });
      return next();
    }
    console.warn(JSON.stringify({ msg: 'admin auth failed', reason: 'bootstrap token mismatch' }));
    return unauthorized();
  }
  let identity: Identity;
  try {
    identity = await getTokenVerifier(c.env).verify(token, new Date());
  } catch (e) {
    console.warn(
      JSON.stringify({
        msg: 'admin auth failed',
        reason: isPosternError(e) ? e.code : 'error',
        detail: (e as Error).message,
      }),
    );
    return unauthorized();
  }
  if (!c.env.ADMIN_GROUP || !identity.groups.includes(c.env.ADMIN_GROUP)) {
    return httpError(403, 'forbidden', 'token lacks the admin group');
  }
  c.set('admin', { kind: 'oidc', identity });
  return next();
};
