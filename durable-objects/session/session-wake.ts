/**
 * A SessionDO instance that finds a hibernated session's sockets but no session in memory
 * (session-hibernation.ts) takes it back from its stored record: the start, grants and keys, the
 * audit chain's end (checked against the rows still in SQLite), the lease, the protocol module's
 * own snapshot. Anything missing or unreadable ends the session: both sockets closed 1011, its
 * record ended (reason unknown) the way a lost session's is (session-lease.ts). Never a guess.
 */
import type { PreparedProtocol, ProtocolSession } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';
import { safeCloseCode } from '../close-codes.ts';
import type { AuditLog } from './audit-log.ts';
import { HIBERNATED_KEY, readHibernated, type Hibernated } from './session-hibernation.ts';
import type { SessionLease } from './session-lease.ts';
import type { FallbackOutbox } from './session-record.ts';

export interface WakeParts {
  ctx: DurableObjectState;
  env: Env;
  audit: AuditLog;
  lease: SessionLease;
  fallback: FallbackOutbox;
  /** The hibernated sockets; either may be gone. */
  client: WebSocket | undefined;
  channel: WebSocket | undefined;
  /** The module prepared for `start` (policy compiled again); undefined when it cannot be. */
  prepare: (start: SessionStart) => Promise<PreparedProtocol | undefined>;
  /** The session resumed from the record by the prepared module (the host's io and channel wired to it). */
  resume: (h: Hibernated, prepared: PreparedProtocol) => ProtocolSession;
}

/** The resumed session, or undefined when the session could not be taken back (it is ended). */
export async function wakeSession(p: WakeParts): Promise<ProtocolSession | undefined> {
  let session: ProtocolSession | undefined;
  try {
    session = await takeBack(p);
  } catch (e) {
    // Storage refused a read or write, the module threw: the session cannot be trusted to go on.
    return lost(p, (e as Error).message);
  }
  if (!session) return undefined;
  console.log(JSON.stringify({ msg: 'session woken', session: p.ctx.id.toString() }));
  // A socket that closed while the object slept: its close may not come to this instance.
  if (!p.client) session.clientClosed();
  else if (!p.channel) session.targetClosed();
  return session;
}

async function takeBack(p: WakeParts): Promise<ProtocolSession | undefined> {
  const sessionId = p.ctx.id.toString();
  const h = readHibernated(await p.ctx.storage.get(HIBERNATED_KEY), sessionId);
  if (typeof h === 'string') return lost(p, h);
  const prepared = await p.prepare(h.start);
  if (!prepared?.resume) return lost(p, 'the protocol module could not be prepared to resume');
  const meta = {
    session: h.start.sessionId,
    connectionName: h.start.connection.name,
    subject: h.start.identity.subject,
  };
  if (!p.audit.resume(meta, h.audit)) return lost(p, 'the audit chain moved on past the record');
  await p.lease.resumed(h.renewAt);
  // A module that cannot read its snapshot ends the session itself (through the host's io,
  // audited, record ended): what comes back is then closed.
  return p.resume(h, prepared);
}

async function lost(p: WakeParts, why: string): Promise<undefined> {
  console.warn(JSON.stringify({ msg: 'hibernated session lost', session: p.ctx.id.toString(), why }));
  for (const ws of [p.client, p.channel]) {
    try {
      ws?.close(safeCloseCode(1011), 'session lost');
    } catch {
      // already closed
    }
  }
  try {
    await p.ctx.storage.delete(HIBERNATED_KEY);
    const ended = await p.lease.orphaned(Date.now());
    if (ended) await p.fallback.save(ended);
  } catch {
    // Left as it is: the record's lease runs out (core/session-host/liveness.ts).
  }
  return undefined;
}
