/**
 * The SessionDO's half of the dial the Worker sends while `begin` is on its way
 * (edge/session-dial.ts `dialAhead`, workers/routes/connect.ts): the Worker reports the
 * connector's answer by the `dialed` RPC. Calls on one stub are not kept in order, so the answer
 * may come before `begin`, while the setup waits for it, or after the setup gave up waiting
 * (connector_offline); the first answer counts, and a late one's replica is given back.
 */
import type { DialResult } from '../../edge/contracts/dial.ts';
import type { SessionDialing, SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';
import { undial } from '../../edge/session-dial.ts';
import { SetupGate } from './setup-gate.ts';

export class WorkerDial {
  #result: DialResult | undefined;
  #came = new SetupGate();
  #gaveUp = false;

  constructor(
    private readonly env: Env,
    /** How long the setup waits for the answer before it calls the connector offline. */
    private readonly waitMs: number,
  ) {}

  /** The Worker's answer came (`dialed`); `start` is the session's, once `begin` took it. */
  async answered(result: DialResult, start: SessionStart | undefined): Promise<void> {
    if (this.#result) return;
    this.#result = result;
    this.#came.settle(true);
    // Too late: the setup gave up waiting (connector_offline). Give the replica back.
    if (this.#gaveUp && start?.dialing) await this.undial(start, start.dialing);
  }

  /** The Worker's dial's answer; offline when none came in time. */
  async result(): Promise<DialResult> {
    if (!this.#result) await this.#came.within(this.waitMs);
    if (!this.#result) this.#gaveUp = true;
    return this.#result ?? { ok: false, reason: 'offline' };
  }

  /**
   * The Worker dialled for a session that cannot be set up: give the cancel key back and end
   * the record the ConnectorDO got with the dial (the channel, if it comes, is refused).
   */
  async undial(start: SessionStart, dialing: SessionDialing): Promise<void> {
    const dial = await this.result();
    await undial(this.env, start, dialing.record, dial, new Date()).catch(() => undefined);
  }
}
