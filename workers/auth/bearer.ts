/** Bearer tokens from requests, verified into an Identity. */
import { PosternError } from '../../core/errors.ts';
import type { Identity } from '../../core/identity/identity.ts';
import type { Env } from '../../edge/env.ts';
import { getTokenVerifier } from './verifier.ts';

export function readBearer(req: Request): string | null {
  const h = req.headers.get('Authorization');
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

export async function authenticate(req: Request, env: Env, now: Date): Promise<Identity> {
  const token = readBearer(req);
  if (!token) throw new PosternError('TOKEN_INVALID', 'no bearer token');
  return getTokenVerifier(env).verify(token, now);
}
