/** The token verifier for this isolate, built once per TRUSTED_ISSUERS value. */
import { createTokenVerifier, type TokenVerifier } from '../../core/identity/verify-token.ts';
import { parseIssuerConfigs } from '../../core/identity/issuer-config.ts';
import type { Env } from '../../edge/env.ts';

let cached: { key: string; verifier: TokenVerifier } | undefined;

export function getTokenVerifier(
  env: Pick<Env, 'TRUSTED_ISSUERS' | 'ALLOW_INSECURE_ISSUERS'>,
): TokenVerifier {
  const key = `${env.ALLOW_INSECURE_ISSUERS ?? ''}|${env.TRUSTED_ISSUERS ?? '[]'}`;
  if (cached?.key !== key) {
    const configs = parseIssuerConfigs(env.TRUSTED_ISSUERS ?? '[]', {
      allowInsecure: env.ALLOW_INSECURE_ISSUERS === '1',
    });
    cached = { key, verifier: createTokenVerifier(configs) };
  }
  return cached.verifier;
}
