/**
 * Asking a connection's connector to dial a session's target (ConnectorDO `dial`), from either
 * side: the Worker dials while `begin` is on its way (workers/routes/connect.ts, `dialAhead`), so
 * the connector's work overlaps the SessionDO's own setup; a request-oriented session's object
 * dials itself (durable-objects/session/session-setup.ts). docs/architecture.md, steps 3–5.
 */
import { leaseMs } from '../core/session-host/liveness.ts';
import { randomToken, sha256Hex } from '../core/crypto/secrets.ts';
import type { ConnectionProtocol } from '../core/tunnel/protocol.ts';
import type { DialResult } from './contracts/dial.ts';
import type { SessionDialing, SessionStart } from './contracts/session-start.ts';
import type { SessionRecord } from './db/session-records.ts';
import type { Env } from './env.ts';

/** The session's control-plane row as it starts (the ConnectorDO ships it with the dial). */
export function startRecord(start: SessionStart, protocol: ConnectionProtocol, now: Date): SessionRecord {
  return {
    id: start.sessionId,
    connectionId: start.connection.id,
    connectionName: start.connection.name,
    connectorId: start.connection.connectorId,
    protocol,
    replicaId: '',
    issuer: start.identity.issuer,
    subject: start.identity.subject,
    groups: start.identity.groups,
    clientApplication: start.client ?? null,
    startedAt: now.toISOString(),
    endedAt: null,
    closeReason: null,
    bytesFromClient: 0,
    bytesToClient: 0,
    statements: 0,
  };
}

/** Ask the connection's connector to dial its target and open the data channel with `channelToken`. */
export async function dialConnector(
  env: Env,
  start: SessionStart,
  record: SessionRecord,
  channelToken: string,
): Promise<DialResult> {
  const conn = start.connection;
  const connector = env.CONNECTOR.get(env.CONNECTOR.idFromName(conn.connectorId));
  return connector.dial({
    record,
    sessionId: start.sessionId,
    channelToken,
    protocol: conn.protocol ?? 'postgres',
    target: conn.target,
    ...(conn.credential.kind === 'connector_ref' ? { credentialRef: conn.credential.ref } : {}),
    ...(conn.kubernetes?.ca ? { ca: conn.kubernetes.ca } : {}),
    ...(conn.reach === 'direct' ? { direct: true as const } : {}),
  });
}

/**
 * A dial that took a replica for a session that will not run (it could not be prepared, or its
 * answer came too late): the cancel key and the replica's share given back, the record ended.
 */
export async function undial(
  env: Env,
  start: SessionStart,
  record: SessionRecord,
  dial: DialResult,
  now: Date,
): Promise<void> {
  if (!dial.ok) return;
  const connector = env.CONNECTOR.get(env.CONNECTOR.idFromName(start.connection.connectorId));
  const ended: SessionRecord = {
    ...record,
    replicaId: dial.replicaId,
    endedAt: now.toISOString(),
    closeReason: 'gateway-error',
  };
  await connector.sessionEnded(dial.gatewayKey.processId, ended);
}

/**
 * The Worker's dial for a session it is about to `begin`: a new one-time channel token (only its
 * hash goes to the SessionDO, in `start.dialing`, so the token itself lives only in the dial
 * request) and the session's first record. `dial` never rejects: a failed call is `offline`.
 */
export async function dialAhead(
  env: Env,
  start: SessionStart,
  now: number,
): Promise<{ dialing: SessionDialing; dial: Promise<DialResult> }> {
  const channelToken = randomToken('pch');
  const record: SessionRecord = {
    ...startRecord(start, start.connection.protocol ?? 'postgres', new Date(now)),
    leaseUntil: new Date(now + leaseMs(env.SESSION_LEASE_SECONDS)).toISOString(),
  };
  const dialing = { channelTokenHash: await sha256Hex(channelToken), record };
  const dial = dialConnector(env, start, record, channelToken).catch((e: unknown): DialResult => {
    console.error(JSON.stringify({ msg: 'dial failed', session: start.sessionId, error: String(e) }));
    return { ok: false, reason: 'offline' };
  });
  return { dialing, dial };
}
