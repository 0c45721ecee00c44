/**
 * The engine's questions to policy (the host's `decide` hook): each answer audited before
 * anything is forwarded, a failing `decide` taken as a denial (fail closed), and at most one
 * request held for approval at a time, which waits for `resolveHeld`.
 */
import type { ChannelPair } from './channel-pair.ts';
import type { SshDecision, SshHooks, SshRequest } from './types.ts';

export type Permit = { ok: true } | { ok: false; message: string };

export class RequestPolicy {
  #held: { pair: ChannelPair | undefined; resolve(approved: boolean, message: string): void } | undefined;

  constructor(
    private readonly hooks: SshHooks,
    private readonly stats: { refused: number },
  ) {}

  /** The channel whose request waits for approval, if one does and it has a channel. */
  get heldPair(): ChannelPair | undefined {
    return this.#held?.pair;
  }

  async ask(request: SshRequest): Promise<SshDecision> {
    try {
      return await this.hooks.decide(request);
    } catch {
      return { deny: 'policy could not be evaluated' };
    }
  }

  /** decide(), audited before anything is forwarded; a hold waits for `resolveHeld`. */
  async permit(
    request: SshRequest,
    say?: (text: string) => Promise<void>,
    pair?: ChannelPair,
  ): Promise<Permit> {
    const d = await this.ask(request);
    if (d === 'allow') {
      this.hooks.audit('ssh.request', { ...request, outcome: 'allowed' });
      return { ok: true };
    }
    if ('deny' in d) {
      this.stats.refused++;
      this.hooks.audit('ssh.request', { ...request, outcome: 'denied', reason: d.deny });
      return { ok: false, message: d.deny };
    }
    if (!this.hooks.held || this.#held) {
      const why = this.#held
        ? 'another request is waiting for approval'
        : 'needs an approval, which is not available here';
      this.stats.refused++;
      this.hooks.audit('ssh.request', { ...request, outcome: 'refused', reason: why });
      return { ok: false, message: why };
    }
    this.hooks.audit('ssh.request', { ...request, outcome: 'held', fingerprint: d.hold.fingerprint });
    const answer = new Promise<{ approved: boolean; message: string }>((resolve) => {
      this.#held = { pair, resolve: (approved, message) => resolve({ approved, message }) };
    });
    await say?.(d.hold.text);
    this.hooks.held({ text: d.hold.text, fingerprint: d.hold.fingerprint, action: request.action });
    const { approved, message } = await answer;
    this.hooks.audit('ssh.request', {
      ...request,
      outcome: approved ? 'approved' : 'rejected',
      reason: message,
    });
    if (!approved) this.stats.refused++;
    return approved ? { ok: true } : { ok: false, message: message || 'not approved' };
  }

  /** Ends the wait of the held request (approved, or refused with `message`). */
  resolveHeld(approved: boolean, message: string): void {
    const held = this.#held;
    this.#held = undefined;
    held?.resolve(approved, message);
  }
}
