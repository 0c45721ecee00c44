/**
 * The protocols this edge serves, each with the runtime it needs inside workerd. The SessionDO
 * picks one by the connection's `protocol` and knows none by name (style.md #16).
 */
import type { ConnectionProtocol } from '../../core/tunnel/protocol.ts';
import { ProtocolRegistry } from '../../core/session-host/registry.ts';
import { postgresModule } from '../../core/pg-session/postgres-module.ts';
import { sshModule } from '../../core/ssh/ssh-module.ts';
import { kubeModule } from '../../core/kube/kube-module.ts';
import type { TargetCredential } from '../../core/session-host/protocol.ts';
import { MAX_ALLOC_SIZE } from '../../core/pg/limits.ts';
import { sqlParser } from '../../edge/policy/runtime.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';

/**
 * Largest message a Postgres session holds whole to read it (a statement it checks, a Bind, a
 * row it masks), well inside a Durable Object's 128 MB: the message once, and what masking
 * writes. Rows and COPY data nothing reads stream through in pieces up to Postgres' own limits.
 */
const MAX_HELD_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * What the recordings of one SSH or Kubernetes session may take in the audit trail, in all: the audit log
 * lives in the session's SQLite storage and ships to the control plane, so a day-long `tail -f`
 * must not fill it. Past it the recording says it was cut (docs/ssh.md, "Recording").
 */
const MAX_RECORDING_BYTES = 16 * 1024 * 1024;

export const protocols = new ProtocolRegistry<SessionConnection>([
  postgresModule({ sqlParser, maxMessageBytes: MAX_ALLOC_SIZE, maxHeldMessageBytes: MAX_HELD_MESSAGE_BYTES }),
  sshModule({ maxRecordingBytes: MAX_RECORDING_BYTES }),
  kubeModule({ maxRecordingBytes: MAX_RECORDING_BYTES }),
]);

/**
 * What the connection's credential is, for the module's `targetOpen`, and whether the connector
 * keeps it (a Kubernetes connector reference: the connector authenticates to the API server
 * itself, the channel hello carries nothing).
 */
export function targetCredentialOf(conn: SessionConnection): {
  kind: TargetCredential['kind'];
  connectorKeeps: boolean;
} {
  if (conn.kubernetes)
    return { kind: conn.kubernetes.secretKind, connectorKeeps: conn.credential.kind === 'connector_ref' };
  return { kind: conn.credential.secretKind ?? 'password', connectorKeeps: false };
}

/** A connection stored before connections carried a protocol is a Postgres one. */
export function protocolOf(conn: SessionConnection): ConnectionProtocol {
  return conn.protocol ?? 'postgres';
}
