/**
 * The person tests act as: alice, of the issuer tests trust (https://issuer.test), in group
 * `dev`, a token with no expiry the code under test checks (`expiresAt: 0`). Override what a
 * test is about (her groups, her attributes).
 */
import type { Identity } from '../../core/identity/identity.ts';

export const TEST_ISSUER = 'https://issuer.test';

/** The attributes of a token that carries alice's email (what Kubernetes and SSH gates read). */
export const ALICE_EMAIL = { email: 'alice@example.com' };

export function alice(over: Partial<Identity> = {}): Identity {
  return { issuer: TEST_ISSUER, subject: 'alice', groups: ['dev'], attributes: {}, expiresAt: 0, ...over };
}
