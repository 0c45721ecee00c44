/**
 * The shapes a session's approvals exchange with the rest of the system: what a protocol module
 * holds (core/session-host/held-request.ts), how the held request ends for it. Votes and their
 * answers are the SessionDO's RPC contract: edge/contracts/votes.ts.
 */
import type { SessionNotice } from '../../core/session-host/held-request.ts';

export type { HeldRequest } from '../../core/session-host/held-request.ts';

/** How the held request ends, for the protocol session that holds it. */
export interface HeldOutcome {
  release(approved: boolean, message: string): void;
  notice(notice: SessionNotice): void;
}

export type { EffectiveScope, VoteAnswer, VoteRequest } from '../../edge/contracts/votes.ts';
