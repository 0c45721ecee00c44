/** The web console's keys (core/web-session/keys.ts) for this isolate, derived once per secret. */
import { deriveWebSessionKeys, type WebSessionKeys } from '../../core/web-session/keys.ts';
import type { Env } from '../../edge/env.ts';

let cached: { key: string; keys: Promise<WebSessionKeys> } | undefined;

export function webSessionKeys(
  env: Pick<Env, 'CONSOLE_SESSION_KEY' | 'CREDENTIAL_KEYS'>,
): Promise<WebSessionKeys> {
  const key = `${env.CONSOLE_SESSION_KEY ?? ''}|${env.CREDENTIAL_KEYS ?? ''}`;
  if (cached?.key !== key) {
    const keys = deriveWebSessionKeys(env.CONSOLE_SESSION_KEY, env.CREDENTIAL_KEYS);
    keys.catch(() => (cached = undefined));
    cached = { key, keys };
  }
  return cached.keys;
}
