/**
 * Postgres' own limits on message lengths (the int32 length field, which counts itself), as the
 * server enforces them on what a client sends: src/backend/tcop/postgres.c SocketBackend() picks
 * a limit per message type, src/include/libpq/libpq.h defines them, and pq_getmessage() closes
 * the connection past it. Results the server sends are bounded by what it can allocate
 * (MaxAllocSize, src/include/utils/memutils.h): a DataRow or CopyData of up to about 1 GB.
 */
import { Frontend } from './message-types.ts';

/** MaxAllocSize: the largest value (and message) a server builds. */
export const MAX_ALLOC_SIZE = 0x3fffffff;
/** PQ_LARGE_MESSAGE_LIMIT: Query, FunctionCall, Parse, Bind, CopyData. */
export const PQ_LARGE_MESSAGE_LIMIT = MAX_ALLOC_SIZE - 1;
/** PQ_SMALL_MESSAGE_LIMIT: every other message a client sends after startup. */
export const PQ_SMALL_MESSAGE_LIMIT = 10_000;

const LARGE: ReadonlySet<number> = new Set([
  Frontend.Query,
  Frontend.FunctionCall,
  Frontend.Parse,
  Frontend.Bind,
  Frontend.CopyData,
]);

/** The server's limit on the length field of a client message of this type. */
export function clientMessageLimit(type: number): number {
  return LARGE.has(type) ? PQ_LARGE_MESSAGE_LIMIT : PQ_SMALL_MESSAGE_LIMIT;
}

/** "12.3 MB": sizes in messages people read. */
export function megabytes(n: number): string {
  const mb = n / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(1)} MB`;
}
