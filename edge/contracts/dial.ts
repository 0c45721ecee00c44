/** Types of the ConnectorDO RPC surface used by SessionDO and the admin API. */
import type { CancelKey } from '../../core/pg/types.ts';
import type { ConnectionProtocol, TargetSpec } from '../../core/tunnel/protocol.ts';
import type { SessionRecord } from '../db/session-records.ts';

export interface DialInput {
  /** The session's control-plane row, shipped by the ConnectorDO's outbox. */
  record?: SessionRecord;
  sessionId: string;
  channelToken: string;
  /** The connection's protocol: the connector opens the target's transport for it. */
  protocol: ConnectionProtocol;
  target: TargetSpec;
  credentialRef?: string;
  /** Kubernetes: the cluster CA (PEM) the API server's certificate must chain to (not secret). */
  ca?: string;
  /**
   * The SessionDO dials the target itself (a direct connection): no replica is asked; the
   * ConnectorDO only allocates the cancel key and keeps the record (replica id DIRECT_REPLICA).
   */
  direct?: true;
}

/** The replica id of sessions whose SessionDO dialled the target itself. */
export const DIRECT_REPLICA = 'edge-direct';

export type DialResult =
  { ok: true; replicaId: string; gatewayKey: CancelKey } | { ok: false; reason: 'offline' };

export interface ReplicaInfo {
  replicaId: string;
  hostname: string;
  version: string;
  connectedAt: string;
  activeSessions: number;
}

export interface ReplicaAttachment {
  replicaId: string;
  hostname: string;
  version: string;
  connectedAt: number;
}
