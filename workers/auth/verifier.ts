/**
 * The token verifiers for this isolate, built once per TRUSTED_ISSUERS value: bearer tokens
 * (each issuer's `audience`), and the ID tokens of the web console's sign-in (audience: the
 * issuer's console client id, docs/console.md), checked by the same code.
 */
import { createTokenVerifier, type TokenVerifier } from '../../core/identity/verify-token.ts';
import { parseIssuerConfigs, type IssuerConfig } from '../../core/identity/issuer-config.ts';
import type { Env } from '../../edge/env.ts';

type IssuerEnv = Pick<Env, 'TRUSTED_ISSUERS' | 'ALLOW_INSECURE_ISSUERS'>;

let cached:
  { key: string; configs: IssuerConfig[]; bearer: TokenVerifier; idToken: TokenVerifier } | undefined;

function load(env: IssuerEnv) {
  const key = `${env.ALLOW_INSECURE_ISSUERS ?? ''}|${env.TRUSTED_ISSUERS ?? '[]'}`;
  if (cached?.key !== key) {
    const configs = parseIssuerConfigs(env.TRUSTED_ISSUERS ?? '[]', {
      allowInsecure: env.ALLOW_INSECURE_ISSUERS === '1',
    });
    const browser = configs.filter((c) => c.console).map((c) => ({ ...c, audience: c.console!.clientId }));
    cached = { key, configs, bearer: createTokenVerifier(configs), idToken: createTokenVerifier(browser) };
  }
  return cached;
}

export function getTokenVerifier(env: IssuerEnv): TokenVerifier {
  return load(env).bearer;
}

/** Verifies a console sign-in's ID token: only issuers with a console client, audience = that client. */
export function getIdTokenVerifier(env: IssuerEnv): TokenVerifier {
  return load(env).idToken;
}

/** The trusted issuers that have a console client (browser sign-in), in configured order. */
export function consoleIssuers(env: IssuerEnv): IssuerConfig[] {
  return load(env).configs.filter((c) => c.console);
}
