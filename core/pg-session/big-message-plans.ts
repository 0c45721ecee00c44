/**
 * What the session does with a big message of either side when its header comes (issue 10; the
 * reader that applies the plan is big-messages.ts): stream it when nothing needs to read it,
 * else hold it whole up to `maxHeld`, and past that refuse it with an error that says what to do.
 * The two sides differ past the limit: a client message is refused alone and the session goes on
 * (its bytes are skipped), a target message ends the session (the client's stream cannot go on
 * without it, and the gateway will not pass on what it has not read).
 */
import type { PgFrame } from '../pg/framer.ts';
import { megabytes } from '../pg/limits.ts';
import type { CloseReason } from './close-reason.ts';
import { Backend, Frontend, typeName } from '../pg/message-types.ts';
import { CLIENT_TYPES, messageOf } from './frames.ts';
import type { StatementFlow } from './statement-flow.ts';

/** A big client message: its plan, a refusal for the client in order, or the end of the session. */
export type ClientBigPlan = 'stream' | 'whole' | { refused: string } | { fail: CloseReason };

/**
 * CopyData nothing reads streams to the target; a message the gateway must read (a Query or
 * Parse it checks, a Bind) is held whole up to maxHeld. Past that it is refused before any byte
 * of it is forwarded, and the client gets an error in order (statement-flow.ts), as for a
 * refused statement. Without a flow (no policy) everything streams.
 */
export function bigClientPlan(
  head: PgFrame,
  flow: StatementFlow | undefined,
  maxHeld: number,
): ClientBigPlan {
  const total = head.piece!.total;
  if (!CLIENT_TYPES.has(head.type)) return { fail: unexpectedClientType(head.type) };
  if (!flow || flow.passOn(head)) return 'stream';
  if (total <= maxHeld) return 'whole';
  const what = head.type === Frontend.Bind ? 'a Bind message (its parameter values)' : 'a statement';
  return {
    refused: `statement refused: ${what} of ${megabytes(total)} is more than Postern holds to check (${megabytes(maxHeld)}); send large values as COPY ... FROM STDIN data, which Postern streams, or in smaller pieces`,
  };
}

/**
 * A row nothing in which is masked streams to the client as it comes (`streamable`, given only
 * once the session is in its proxy phase); anything the gateway reads (a row it masks, an error, a notice) is held
 * whole up to maxHeld. Past that, the reason the session ends.
 */
export function bigUpstreamPlan(
  head: PgFrame,
  streamable: ((type: number) => boolean) | undefined,
  maxHeld: number,
): 'stream' | 'whole' | CloseReason {
  const total = head.piece!.total;
  try {
    if (streamable?.(head.type)) return 'stream';
  } catch (e) {
    return { kind: 'upstream-protocol', detail: messageOf(e) };
  }
  if (total <= maxHeld) return 'whole';
  const size = megabytes(total);
  const limit = megabytes(maxHeld);
  const detail =
    head.type === Backend.DataRow || head.type === Backend.CopyData
      ? `a result row of ${size} has a column Postern masks or scans; Postern reads rows of up to ${limit}: select the large column in pieces (substring(col from 1 for 10000000), ...), or ask an admin about a connection that does not mask it`
      : `the target database sent a message (type ${typeName(head.type)}) of ${size}; Postern reads such messages up to ${limit}`;
  return { kind: 'too-large', detail };
}

/** A client message of a type not allowed after startup (protocol §55.7). */
export function unexpectedClientType(type: number): CloseReason {
  return { kind: 'client-protocol', detail: `unexpected message type ${typeName(type)}` };
}
