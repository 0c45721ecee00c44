/**
 * `GET /api/v1/approvals/stream`: the approvals inbox, live, as Server-Sent Events (WHATWG HTML
 * §9.2; a browser's EventSource sends the console's cookie, and reconnects by itself). Each
 * `approvals` event carries the whole current state for the caller:
 *   { inbox: requests waiting that the caller may decide now (never their own),
 *     mine:  the caller's own requests still waiting (to follow, never to decide) }
 * with the same fields and viewer flags as GET /approvals (approval-viewer.ts). An event is sent
 * when that state changes; a comment line keeps the connection open in between.
 *
 * The streams of an isolate share one read of the control plane every POLL_MS (approvals-hub.ts:
 * every pending request and its votes, cut per person in memory by the rule GET /approvals
 * uses); each stream holds one database connection for its life, to read with when its turn
 * comes, and ends after MAX_STREAM_MS, when the caller's token or session expires, or soon after
 * the console session it was opened with is signed out, whichever is first: the browser
 * reconnects, and is authenticated again. Each person may hold a few streams
 * per isolate (their tabs).
 */
import type { Context } from 'hono';
import type { Identity } from '../../core/identity/identity.ts';
import {
  expireStaleRequests,
  isVisibleTo,
  listApprovalRequests,
  listVotes,
  presentApproval,
} from '../../edge/db/approvals-repo.ts';
import type { Db } from '../../edge/db/client.ts';
import { isSignedOut } from '../../edge/db/console-sign-outs-repo.ts';
import { refusal } from '../../edge/http-errors.ts';
import { openCookieUnchecked } from '../console/browser-session.ts';
import { forViewer } from './approval-viewer.ts';
import { PendingHub, type PendingRead } from './approvals-hub.ts';
import { withOwnDb } from './app.ts';
import { isAdmin, me, type UserEnv } from './user-api.ts';

const POLL_MS = 1_000;
const KEEPALIVE_MS = 15_000;
/** How often a cookie stream asks whether its session was signed out (docs/console.md). */
const SIGN_OUT_CHECK_MS = 2_000;
const MAX_STREAM_MS = 5 * 60_000;
/** What EventSource waits before it reconnects (the `retry:` field). */
const RETRY_MS = 2_000;
/** Streams one person may hold open in one isolate. */
export const MAX_STREAMS_PER_PERSON = 4;
/** Waiting requests one event carries (newest first); the inbox is a queue, not an archive. */
const MAX_PENDING = 100;
/**
 * Waiting requests the shared read takes (newest first), for everyone: each person already has
 * a bound on what they keep waiting (too_many_pending), so past this many the control plane has
 * a flood, not a queue, and a stream shows the newest.
 */
const MAX_SHARED = 2_000;
/** A read taking longer than this is given up on by the others (its stream may have gone). */
const READ_OVERDUE_MS = 5_000;

const open = new Map<string, number>();
/** The streams' one read per isolate (exported for the test that counts its reads). */
export const pendingHub = new PendingHub(POLL_MS, READ_OVERDUE_MS);

async function readPending(db: Db): Promise<PendingRead> {
  await expireStaleRequests(db, new Date());
  const rows = await listApprovalRequests(db, { status: 'pending', limit: MAX_SHARED });
  return {
    rows,
    votes: await listVotes(
      db,
      rows.map((r) => r.id),
    ),
  };
}

/** What one person's stream shows of a read: as GET /approvals would list it, then their part. */
export function pendingFor(read: PendingRead, env: UserEnv['Bindings'], id: Identity, now: Date) {
  const viewer = { ...me(id), groups: id.groups };
  const admin = isAdmin(env, id);
  const rows = read.rows.filter((r) => admin || isVisibleTo(r, viewer));
  const views = rows
    .slice(0, MAX_PENDING)
    .map((r) => forViewer(presentApproval(r, read.votes), r, read.votes, id, now));
  return { inbox: views.filter((v) => v.mayDecide), mine: views.filter((v) => v.mine) };
}

export async function approvalsStream(c: Context<UserEnv>): Promise<Response> {
  const id = c.get('identity');
  // A stream opened with the console cookie (no Authorization header: workers/auth/caller.ts)
  // ends soon after that session is signed out: its sign-out is looked up again every
  // SIGN_OUT_CHECK_MS on the connection the stream already holds (one primary-key lookup).
  const cookie = c.req.raw.headers.has('Authorization')
    ? null
    : await openCookieUnchecked(c.req.raw, c.env, new Date());
  const who = `${id.issuer}\u0000${id.subject}`;
  if ((open.get(who) ?? 0) >= MAX_STREAMS_PER_PERSON) {
    // 409 like too_many_pending (access requests): a bound on what one person holds open.
    return refusal(409, 'too_many_streams', `at most ${MAX_STREAMS_PER_PERSON} open approval streams each`);
  }
  open.set(who, (open.get(who) ?? 0) + 1);
  const until = Math.min(Date.now() + MAX_STREAM_MS, id.expiresAt * 1000);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const enc = new TextEncoder();
  // Stops the loop when the client goes away: its request is aborted, or it cancelled the body
  // (the writer's `closed` then rejects), or a write failed.
  const stop = new AbortController();
  const abort = stop.signal;
  c.req.raw.signal.addEventListener('abort', () => stop.abort(), { once: true });
  writer.closed.catch(() => stop.abort());
  const write = async (text: string) => {
    try {
      await writer.write(enc.encode(text));
    } catch {
      stop.abort();
    }
  };
  const run = async () => {
    await write(`retry: ${RETRY_MS}\n\n`);
    // Its own connection, for the stream's life: the request's (withDb) is closed once this
    // Response is returned, and workerd binds a socket to the request that opened it.
    await withOwnDb(c, async (db) => {
      let last = '';
      let wrote = Date.now();
      let checked = Date.now();
      while (!abort.aborted && Date.now() < until) {
        if (cookie && Date.now() - checked >= SIGN_OUT_CHECK_MS) {
          if (await isSignedOut(db, cookie)) break;
          checked = Date.now();
        }
        const read = await pendingHub.current(() => readPending(db), abort);
        const state = JSON.stringify(pendingFor(read, c.env, id, new Date()));
        if (state !== last) {
          await write(`event: approvals\ndata: ${state}\n\n`);
          last = state;
          wrote = Date.now();
        } else if (Date.now() - wrote >= KEEPALIVE_MS) {
          await write(': keep-alive\n\n');
          wrote = Date.now();
        }
        await sleep(POLL_MS, abort);
      }
    });
  };
  const done = run()
    .catch((e) => {
      console.warn(JSON.stringify({ msg: 'approvals stream ended', error: (e as Error).message }));
    })
    .finally(async () => {
      const n = (open.get(who) ?? 1) - 1;
      if (n > 0) open.set(who, n);
      else open.delete(who);
      await writer.close().catch(() => undefined);
    });
  try {
    c.executionCtx.waitUntil(done);
  } catch {
    // no ExecutionContext (Node tests): the stream runs on its own
  }
  return new Response(readable, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // No proxy may buffer it (nginx honours this; Cloudflare streams text/event-stream).
      'X-Accel-Buffering': 'no',
    },
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
