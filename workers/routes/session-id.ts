/**
 * A session id from a URL, as the SessionDO namespace's own id or nothing. Session ids are
 * `newUniqueId()`s: 64 hex digits that the runtime checks belong to this namespace, so a
 * well-formed id that no session was given (or one of another namespace) is refused here, with
 * a 404 rather than the runtime's exception, and no Durable Object is ever made for it.
 */
import type { Env } from '../../edge/env.ts';

const SESSION_ID = /^[0-9a-f]{64}$/;

export function sessionIdFrom(env: Pick<Env, 'SESSION'>, text: string): DurableObjectId | null {
  if (!SESSION_ID.test(text)) return null;
  try {
    return env.SESSION.idFromString(text);
  } catch {
    return null; // "Durable Object ID is not valid for this namespace"
  }
}
