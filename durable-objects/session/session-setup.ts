/**
 * The steps every session takes before its client is served (SessionDO #prepareAndDial): its
 * approvals and its protocol module prepared (the dial: connector-calls.ts).
 */
import type {
  PreparedProtocol,
  ProtocolServices,
  ProtocolSession,
} from '../../core/session-host/protocol.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { Env } from '../../edge/env.ts';
import { approvalNotifier } from './approval-notifier.ts';
import { SessionApprovals } from './approvals.ts';
import type { AuditLog } from './audit-log.ts';
import { protocolOf, protocols } from './protocols.ts';

/** Why a session could not be set up. */
export type Unready = 'policy_unavailable' | 'connector_offline';

/** What to tell the client when a session could not be set up. */
export function unreadyMessage(why: Unready, connectionName: string): string {
  return why === 'connector_offline'
    ? `the connector for connection "${connectionName}" is offline`
    : `the policies of connection "${connectionName}" could not be loaded; ask an admin`;
}

/** The session's approvals; a held request's outcome goes to the session `current()` returns. */
export function sessionApprovals(
  ctx: DurableObjectState,
  env: Env,
  audit: AuditLog,
  start: SessionStart,
  current: () => ProtocolSession | undefined,
): SessionApprovals {
  return new SessionApprovals(
    ctx,
    env,
    audit,
    start,
    {
      release: (approved, message) => current()?.resolveHeld(approved, message),
      notice: (notice) => current()?.notice(notice),
    },
    approvalNotifier(env, start),
  );
}

/** The connection's protocol module prepared; undefined (logged) when it cannot be. */
export async function prepareProtocol(
  start: SessionStart,
  services: () => ProtocolServices,
): Promise<PreparedProtocol | undefined> {
  const conn = start.connection;
  try {
    const module = protocols.get(protocolOf(conn));
    return await module.prepare(start, services());
  } catch (e) {
    console.error(
      JSON.stringify({ msg: 'session unusable', connection: conn.name, error: (e as Error).message }),
    );
    return undefined;
  }
}
