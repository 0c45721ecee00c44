/**
 * The steps every session takes before its client is served (or, request-oriented, its first
 * request): its approvals and its protocol module prepared (policy compiled), the connector
 * asked to dial (here, or already by the Worker: worker-dial.ts), the audit chain begun.
 */
import type {
  PreparedProtocol,
  ProtocolServices,
  ProtocolSession,
} from '../../core/session-host/protocol.ts';
import type { DialResult } from '../../edge/contracts/dial.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import type { SessionRecord } from '../../edge/db/session-records.ts';
import type { Env } from '../../edge/env.ts';
import { dialConnector, startRecord } from '../../edge/session-dial.ts';
import { approvalNotifier } from './approval-notifier.ts';
import { SessionApprovals } from './approvals.ts';
import type { AuditLog } from './audit-log.ts';
import { storedCredential } from './channel-greeting.ts';
import type { ChannelToken } from './channel-token.ts';
import { protocolOf, protocols } from './protocols.ts';
import { sessionOpenEvent } from './session-events.ts';
import type { SessionLease } from './session-lease.ts';
import type { WorkerDial } from './worker-dial.ts';

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

/** What the SessionDO holds that the setup uses. */
export interface SetupParts {
  ctx: DurableObjectState;
  env: Env;
  audit: AuditLog;
  lease: SessionLease;
  channelToken: ChannelToken;
  workerDial: WorkerDial;
  /** The module's services for the session's approvals (the host keeps their `connect` re-check). */
  services: (approvals: SessionApprovals) => ProtocolServices;
  /** The session a held request's outcome goes to, once it is open. */
  current: () => ProtocolSession | undefined;
}

/** A session ready to open: what the host keeps of its setup. */
export interface Ready {
  prepared: PreparedProtocol;
  dial: Extract<DialResult, { ok: true }>;
  approvals: SessionApprovals;
  /** The session's control-plane row, with the replica the dial took. */
  record: SessionRecord;
  /** The stored target credential, decrypting (channel-greeting.ts). */
  credential: Promise<string> | undefined;
}

/**
 * The session's approvals, and its module prepared for them (undefined when it cannot be): the
 * first step of a setup, and of a wake (session-wake.ts).
 */
export async function prepareSession(
  p: Pick<SetupParts, 'ctx' | 'env' | 'audit' | 'services' | 'current'>,
  start: SessionStart,
): Promise<{ approvals: SessionApprovals; prepared: PreparedProtocol | undefined }> {
  const approvals = sessionApprovals(p.ctx, p.env, p.audit, start, p.current);
  return { approvals, prepared: await prepareProtocol(start, () => p.services(approvals)) };
}

/** The session's module prepared and its target dialled, the audit chain begun; why not, when it failed. */
export async function prepareAndDial(p: SetupParts, start: SessionStart): Promise<Ready | Unready> {
  const conn = start.connection;
  const { approvals, prepared } = await prepareSession(p, start);
  if (!prepared) {
    if (start.dialing) p.ctx.waitUntil(p.workerDial.undial(start, start.dialing));
    return 'policy_unavailable';
  }

  let record: SessionRecord;
  let dial: DialResult;
  if (start.dialing) {
    // The Worker dialled already (the connector may be at work): its answer, or offline.
    record = { ...start.dialing.record };
    dial = await p.workerDial.result();
  } else {
    const channelToken = await p.channelToken.issue();
    record = {
      ...startRecord(start, protocolOf(conn), new Date()),
      leaseUntil: p.lease.until(Date.now()),
    };
    dial = await dialConnector(p.env, start, record, channelToken);
  }
  if (!dial.ok) return 'connector_offline';
  record.replicaId = dial.replicaId;
  p.audit.begin({ session: start.sessionId, connectionName: conn.name, subject: start.identity.subject });
  p.audit.append('session_open', sessionOpenEvent(start, dial.replicaId, prepared.openDetails));
  const credential = storedCredential(p.env.CREDENTIAL_KEYS, conn);
  return { prepared, dial, approvals, record, credential };
}
