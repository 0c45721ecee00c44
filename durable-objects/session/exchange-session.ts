/**
 * A request-oriented session (Kubernetes: one token's use of one connection) in the SessionDO:
 * each request served once the session is set up (exchange-host.ts), and its deadlines: the
 * token's expiry ends it (every open watch with it), and so does idling.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import { EXCHANGE_STATE_HEADER } from '../../edge/contracts/rpc.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { httpError } from '../../edge/http-errors.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { answerResponse, serveExchange, type Refuse } from './exchange-host.ts';
import { protocolOf, protocols } from './protocols.ts';

/** A request-oriented session (Kubernetes) with no request in flight ends after this long. */
export const EXCHANGE_IDLE_MS = 15 * 60_000;

/**
 * Set once a request-oriented session began in this object: its id, audit chain and record are
 * that session's, so an object that lost its memory (evicted) answers `ended` and the Worker
 * starts the token's next session in another object (workers/routes/kube.ts).
 */
export const EXCHANGE_BEGUN_KEY = 'exchange-begun';

/** This object's answer to a request it cannot serve: it is `fresh` or its session `ended`. */
export function exchangeStateAnswer(state: 'fresh' | 'ended'): Response {
  return new Response(null, { status: 409, headers: { [EXCHANGE_STATE_HEADER]: state } });
}

/**
 * One request of the session (the Worker checked the token and `connect`, and began it):
 * refused until `ready` (the session's setup, begun by its first request) says why not.
 * `touch` marks activity, now and as the request's response streams.
 */
export async function exchangeRequest(
  request: Request,
  start: SessionStart | undefined,
  ready: (start: SessionStart) => Promise<string | undefined>,
  current: () => ProtocolSession | undefined,
  touch: () => void,
): Promise<Response> {
  const module = start ? protocols.get(protocolOf(start.connection)) : undefined;
  const answer = module?.exchangeRefusal;
  if (!start || !answer) return httpError(400, 'invalid_input', 'not a request-oriented session');
  const refuse: Refuse = (kind, message) => answerResponse(answer(kind, message));
  const failure = await ready(start);
  if (failure) return refuse('unavailable', failure);
  const session = current();
  if (!session?.requests || session.phase === 'closed')
    return refuse('unavailable', 'the Postern session ended; retry');
  touch();
  return serveExchange(request, session.requests, refuse, touch);
}

/**
 * Alarm: end the session whose token expired or that idled since `lastActivity`; else arm the alarm
 * for whichever comes first.
 */
export async function exchangeDeadlines(
  storage: DurableObjectStorage,
  session: ProtocolSession | undefined,
  start: SessionStart | undefined,
  lastActivity: number,
  now: number,
): Promise<void> {
  if (!session?.requests || session.phase === 'closed' || !start) return;
  const expires = start.identity.expiresAt * 1000;
  if (now >= expires)
    return session.fail({
      kind: 'access-ended',
      detail: 'the token expired',
      forClient:
        'the token of this Kubernetes session expired: get a new one (kubectl runs postern kube-credential)',
    });
  const idleAt = session.requests.active() > 0 ? now + EXCHANGE_IDLE_MS : lastActivity + EXCHANGE_IDLE_MS;
  if (now >= idleAt) return session.fail({ kind: 'client-closed', detail: 'idle' });
  await alarmNoLaterThan(storage, Math.min(expires, idleAt));
}
