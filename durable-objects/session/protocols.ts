/**
 * The protocols this edge serves, each with the runtime it needs inside workerd. The SessionDO
 * picks one by the connection's `protocol` and knows none by name (style.md #16).
 */
import { ProtocolRegistry } from '../../core/session-host/registry.ts';
import { postgresModule } from '../../core/pg-session/postgres-module.ts';
import { MAX_ALLOC_SIZE } from '../../core/pg/limits.ts';
import { sqlParser } from '../../edge/policy/runtime.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';

/**
 * Largest message a Postgres session holds whole to read it (a statement it checks, a Bind, a
 * row it masks), well inside a Durable Object's 128 MB: the message once, and what masking
 * writes. Rows and COPY data nothing reads stream through in pieces up to Postgres' own limits.
 */
const MAX_HELD_MESSAGE_BYTES = 32 * 1024 * 1024;

export const protocols = new ProtocolRegistry<SessionConnection>([
  postgresModule({ sqlParser, maxMessageBytes: MAX_ALLOC_SIZE, maxHeldMessageBytes: MAX_HELD_MESSAGE_BYTES }),
]);

/** A connection stored before connections carried a protocol is a Postgres one. */
export function protocolOf(conn: SessionConnection): string {
  return conn.protocol ?? 'postgres';
}
