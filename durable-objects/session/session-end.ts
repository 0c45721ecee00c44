/**
 * How a session's end is reported: the client and channel sockets closed, the `session_close`
 * event appended, the final record sent to the connector (or kept for retry when it cannot be).
 */
import { isFailure, type CloseReason } from '../../core/session-host/close-reason.ts';
import type { ProtocolSession, SessionKey } from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import { safeCloseCode } from '../close-codes.ts';
import type { AuditLog } from './audit-log.ts';
import { endRecord, type FallbackOutbox } from './session-record.ts';
import { sessionCloseEvent } from './session-events.ts';
import type { SessionLease } from './session-lease.ts';

/** What the SessionDO holds when its session ends. */
export interface EndParts {
  ctx: DurableObjectState;
  env: Env;
  audit: AuditLog;
  lease: SessionLease;
  fallback: FallbackOutbox;
  client: WebSocket | undefined;
  channel: WebSocket | undefined;
  start: SessionStart | undefined;
  session: ProtocolSession | undefined;
  key: SessionKey | undefined;
  record: SessionRecord | undefined;
}

/** Close the sockets and report the session's end (nothing to report before it was dialled). */
export function reportEnd(p: EndParts, reason: CloseReason): void {
  const failure = isFailure(reason);
  closeQuietly(p.client, failure ? 1011 : 1000, reason.kind);
  closeQuietly(p.channel, 1000, 'session ended');
  if (failure) console.warn(JSON.stringify({ msg: 'session ended', session: p.start?.sessionId, reason }));
  const conn = p.start?.connection;
  const { session, key, record, audit } = p;
  if (!conn || !key || !record || !session) return;
  let final = {
    ...endRecord(record, reason.kind, session.stats, new Date()),
    refusals: audit.refusals,
  };
  p.ctx.waitUntil(p.lease.ended());
  try {
    audit.append('session_close', sessionCloseEvent(reason, session.stats, session.closeDetails()));
    final = { ...final, auditHead: audit.head, auditEvents: audit.count };
  } catch (e) {
    console.error(JSON.stringify({ msg: 'audit close event not written', error: (e as Error).message }));
  }
  audit.flushSoon();
  const connector = p.env.CONNECTOR.get(p.env.CONNECTOR.idFromName(conn.connectorId));
  p.ctx.waitUntil(connector.sessionEnded(key.processId, final).catch(() => p.fallback.save(final)));
}

function closeQuietly(ws: WebSocket | undefined, code: number, reason: string): void {
  if (!ws) return;
  try {
    ws.close(safeCloseCode(code), reason.slice(0, 120));
  } catch {
    // already closed
  }
}
