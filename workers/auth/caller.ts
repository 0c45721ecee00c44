/**
 * Who calls the PUBLIC API (/api/v1): a bearer token when the request has an Authorization
 * header (the cookie is then ignored), else the web console's session cookie with its CSRF
 * check (workers/console/browser-session.ts). The socket routes (/v1/connect...) do NOT use
 * this: a session is opened with a token only (docs/console.md "Cookies and sessions").
 */
import { PosternError } from '../../core/errors.ts';
import type { Identity } from '../../core/identity/identity.ts';
import type { UseDb } from '../../edge/db/client.ts';
import type { Env } from '../../edge/env.ts';
import { cookieIdentity } from '../console/browser-session.ts';
import { authenticate, readBearer } from './bearer.ts';

export async function authenticateCaller(
  req: Request,
  env: Env,
  now: Date,
  withDb: UseDb,
): Promise<Identity> {
  if (req.headers.has('Authorization')) return authenticate(req, env, now);
  const id = await cookieIdentity(req, env, now, withDb);
  if (!id) throw new PosternError('TOKEN_INVALID', 'no bearer token and no console session');
  return id;
}

export { readBearer };
