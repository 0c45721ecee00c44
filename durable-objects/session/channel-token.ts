/**
 * The data channel's one-time token: issued with the dial request (here, or by the Worker that
 * dialled: `expect`), kept only as its hash, and
 * taken by the first connector request that presents it (docs/security.md).
 */
import { constantTimeEqual, randomToken, sha256Hex } from '../../core/crypto/secrets.ts';

export class ChannelToken {
  #hash: string | undefined;

  /** A new token for the dial request; only its hash stays here. */
  async issue(): Promise<string> {
    const token = randomToken('pch');
    this.#hash = await sha256Hex(token);
    return token;
  }

  /**
   * The token the Worker minted with its own dial (edge/session-dial.ts): only its hash comes
   * here, in `begin`. Taken like an issued one.
   */
  expect(hash: string): void {
    this.#hash = hash;
  }

  /** True when `request` presents the token (then it is spent); never when a channel is `open`. */
  async take(request: Request, open: boolean): Promise<boolean> {
    const token = (request.headers.get('Authorization') ?? '').replace(/^Bearer\s+/i, '');
    const expected = this.#hash;
    if (!expected || open) return false;
    const presented = await sha256Hex(token);
    // One-time: the hash is taken by the first request that presents the token; another one
    // that was hashing meanwhile finds it gone.
    if (this.#hash !== expected || !constantTimeEqual(presented, expected)) return false;
    this.#hash = undefined;
    return true;
  }
}
