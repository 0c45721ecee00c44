/**
 * The gateway's side of Postgres authentication towards the target: the gateway holds the
 * injected credential, the client never sees it. Supports what a server may ask for
 * (protocol §55.2.2 "Start-up"): cleartext, md5 and SCRAM-SHA-256 (RFC 5802/7677).
 */
import { PosternError } from '../errors.ts';
import { md5PasswordResponse } from '../pg/md5.ts';
import { parseAuthentication, passwordMessage, saslInitialResponse, saslResponse } from '../pg/messages.ts';
import { ScramClient } from '../pg/scram.ts';

export type AuthStep = { done: false; reply: Uint8Array | null } | { done: true };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class UpstreamAuthenticator {
  #scram: ScramClient | undefined;

  constructor(
    private readonly user: string,
    private readonly password: string,
    /** Where derived SCRAM keys may be reused (PgSessionConfig.scramKeyScope). */
    private readonly scramKeyScope?: string,
  ) {}

  /** Handles one Authentication ('R') message body; returns the reply to send, if any. */
  async step(body: Uint8Array): Promise<AuthStep> {
    const auth = parseAuthentication(body);
    switch (auth.kind) {
      case 'ok':
        return { done: true };
      case 'cleartext':
        return { done: false, reply: passwordMessage(this.password) };
      case 'md5':
        return {
          done: false,
          reply: passwordMessage(md5PasswordResponse(this.user, this.password, auth.salt)),
        };
      case 'sasl': {
        if (!auth.mechanisms.includes('SCRAM-SHA-256')) {
          throw new PosternError(
            'UPSTREAM_UNSUPPORTED_AUTH',
            `target offers only SASL mechanisms ${auth.mechanisms.join(', ')}; Postern supports SCRAM-SHA-256 without channel binding`,
          );
        }
        this.#scram = new ScramClient(this.password, undefined, '', this.scramKeyScope);
        const first = encoder.encode(this.#scram.clientFirstMessage());
        return { done: false, reply: saslInitialResponse('SCRAM-SHA-256', first) };
      }
      case 'sasl-continue': {
        if (!this.#scram) throw new PosternError('PROTOCOL_VIOLATION', 'SASL continue before SASL start');
        const final = await this.#scram.handleServerFirst(decoder.decode(auth.data));
        return { done: false, reply: saslResponse(encoder.encode(final)) };
      }
      case 'sasl-final': {
        if (!this.#scram) throw new PosternError('PROTOCOL_VIOLATION', 'SASL final before SASL start');
        // A server that skips verification would let a man in the middle fake success (RFC 5802 §9).
        await this.#scram.verifyServerFinal(decoder.decode(auth.data));
        return { done: false, reply: null };
      }
      case 'unsupported':
        throw new PosternError(
          'UPSTREAM_UNSUPPORTED_AUTH',
          `target asked for authentication method ${auth.code}, which Postern does not support (use scram-sha-256, md5 or password)`,
        );
    }
  }
}
