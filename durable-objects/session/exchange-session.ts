/**
 * A request-oriented session (Kubernetes: one token's use of one connection) in the SessionDO:
 * where it stands, its begin, each request served once the session is set up (exchange-host.ts),
 * and its deadlines: the token's expiry ends it (every open watch with it), and so does idling.
 */
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import { EXCHANGE_STATE_HEADER, type ExchangeState } from '../../edge/contracts/rpc.ts';
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

/** What the SessionDO holds that its request-oriented session reads (each when it is used). */
export interface ExchangeParts {
  storage: DurableObjectStorage;
  start: () => SessionStart | undefined;
  session: () => ProtocolSession | undefined;
  /** The session ended (or its setup failed). */
  ended: () => boolean;
}

/**
 * The SessionDO's request-oriented session (begun by the Worker once a request was answered
 * `fresh`), run until its token expires or it idles.
 */
export class ExchangeSession {
  /** The session's setup, run once, by its first request: undefined = ready, else why it failed. */
  #setup: Promise<string | undefined> | undefined;
  #lastActivity = Date.now();

  constructor(private readonly p: ExchangeParts) {}

  /**
   * Where this object's session stands. The storage flag outlives the object's memory: an
   * evicted object that lost its session is `ended`, never begun a second time.
   */
  async state(): Promise<ExchangeState> {
    if (this.p.start()) return this.p.ended() || this.p.session()?.phase === 'closed' ? 'ended' : 'running';
    return (await this.p.storage.get<boolean>(EXCHANGE_BEGUN_KEY)) ? 'ended' : 'fresh';
  }

  /** A fresh object's session is begun: `take` gives the host `start`. A begun one says where it stands. */
  async begin(start: SessionStart, take: (start: SessionStart) => void): Promise<ExchangeState> {
    const state = await this.state();
    if (state !== 'fresh') return state;
    await this.p.storage.put(EXCHANGE_BEGUN_KEY, true);
    if (!this.p.start()) take(start); // else another request began it meanwhile
    return 'running';
  }

  /**
   * One request of the session; `setUp` (the host's) runs once, for the first. One the object
   * cannot serve (not begun, or its session over) is answered with its state, body unread, for
   * the Worker to act on.
   */
  async request(
    request: Request,
    setUp: (start: SessionStart) => Promise<string | undefined>,
  ): Promise<Response> {
    const state = await this.state();
    if (state !== 'running') return exchangeStateAnswer(state);
    const touch = () => {
      this.#lastActivity = Date.now();
    };
    const ready = (start: SessionStart) => (this.#setup ??= setUp(start));
    return exchangeRequest(request, this.p.start(), ready, this.p.session, touch);
  }

  /** The alarm's step: the token's expiry ends the session (every open watch with it); so does idling. */
  async deadlines(now: number): Promise<void> {
    await exchangeDeadlines(this.p.storage, this.p.session(), this.p.start(), this.#lastActivity, now);
  }
}

/** This object's answer to a request it cannot serve: it is `fresh` or its session `ended`. */
function exchangeStateAnswer(state: 'fresh' | 'ended'): Response {
  return new Response(null, { status: 409, headers: { [EXCHANGE_STATE_HEADER]: state } });
}

/**
 * One request of the session (the Worker checked the token and `connect`, and began it):
 * refused until `ready` (the session's setup, begun by its first request) says why not.
 * `touch` marks activity, now and as the request's response streams.
 */
async function exchangeRequest(
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
async function exchangeDeadlines(
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
