/**
 * What a Postgres session needs to go on after its SessionDO was evicted while idle (issue 13,
 * "Idle sessions"), and the strict reading of it back. Only a session that is idle AND whose
 * state fits here is snapshotted (PgSession.idleSnapshot says why not otherwise); everything
 * else about it is rebuilt from the session's start (policy compiled again, the same checker
 * and masker) by the host. Fail closed: a snapshot that does not read back exactly as written
 * (corrupt, truncated, another session's, another version) is never restored, the session ends.
 *
 * Idle-complete means: the target's last ReadyForQuery said 'I' (no transaction, so no portal;
 * a WITH HOLD cursor would be a named object, below), nothing in flight or expected, nothing
 * held for approval or waiting, no COPY, no partial message in either framer, and the server
 * holds no prepared statement or portal the gateway mirrors. Named objects carry verdicts,
 * masking plans and approved-once marks (wire-state.ts): rather than serialise those, a session
 * holding any stays in memory (next step: re-decide them from their SQL text on restore).
 * So does a session that changed what table names resolve to since the preflight (a SET
 * search_path or ROLE, DDL: PreflightQuery.movedOn): the catalog replayed on wake would not hold it.
 */
import type { CancelKey } from '../pg/types.ts';

export const SNAPSHOT_VERSION = 1;

/** A catalog (preflight rows) bigger than this keeps its session in memory. */
export const MAX_SNAPSHOT_CHARS = 1 << 20;
/** Startup parameters a client may send are few; more than this is not a snapshot we wrote. */
const MAX_PARAMS = 64;
const MAX_PARAM_CHARS = 1024;

export type PreflightRows = Array<Array<string | null>>;

export interface PgSnapshot {
  v: typeof SNAPSHOT_VERSION;
  /** The session it belongs to: one object's snapshot never restores another's session. */
  session: string;
  /** The client's StartupMessage parameters (for the record and the audit trail). */
  clientParams: Record<string, string>;
  /** The target's own cancel key (BackendKeyData), for a CancelRequest after the wake. */
  upstreamKey: CancelKey;
  stats: { bytesFromClient: number; bytesToClient: number; statements: number };
  /** The rows of each preflight query (masking's catalog, policy's relations), replayed on wake. */
  catalog: PreflightRows[];
}

/** Why a session may not be snapshotted now: it stays in memory. */
export interface NotIdle {
  busy: string;
}

/** The snapshot as stored (one storage put); undefined when it is past MAX_SNAPSHOT_CHARS. */
export function encodeSnapshot(s: PgSnapshot): string | undefined {
  const text = JSON.stringify(s);
  return text.length > MAX_SNAPSHOT_CHARS ? undefined : text;
}

/**
 * A stored snapshot read back for `sessionId`, whose module has `preflightCount` preflight
 * queries; `{ invalid }` when it is anything but what encodeSnapshot wrote for that session.
 */
export function decodeSnapshot(
  stored: unknown,
  sessionId: string,
  preflightCount: number,
): PgSnapshot | { invalid: string } {
  if (typeof stored !== 'string' || stored.length > MAX_SNAPSHOT_CHARS) return { invalid: 'not a snapshot' };
  let o: unknown;
  try {
    o = JSON.parse(stored);
  } catch {
    return { invalid: 'not JSON' };
  }
  if (!isRecord(o) || !sameKeys(o, ['v', 'session', 'clientParams', 'upstreamKey', 'stats', 'catalog']))
    return { invalid: 'unexpected fields' };
  if (o['v'] !== SNAPSHOT_VERSION) return { invalid: 'another version' };
  if (o['session'] !== sessionId) return { invalid: "another session's snapshot" };
  const params = o['clientParams'];
  if (!isRecord(params) || Object.keys(params).length > MAX_PARAMS) return { invalid: 'client parameters' };
  // What core/pg/startup.ts can produce: a user, names that are neither empty nor `__proto__`
  // (its plain assignment drops that one, so a snapshot holding it as a key is not ours).
  if (typeof params['user'] !== 'string' || params['user'] === '') return { invalid: 'client parameters' };
  for (const [k, v] of Object.entries(params)) {
    if (
      k === '' ||
      k === '__proto__' ||
      k.length > MAX_PARAM_CHARS ||
      typeof v !== 'string' ||
      v.length > MAX_PARAM_CHARS
    )
      return { invalid: 'client parameters' };
  }
  const key = o['upstreamKey'];
  if (
    !isRecord(key) ||
    !sameKeys(key, ['processId', 'secretKey']) ||
    !isInt32(key['processId']) ||
    !isInt32(key['secretKey'])
  )
    return { invalid: 'cancel key' };
  const stats = o['stats'];
  if (
    !isRecord(stats) ||
    !sameKeys(stats, ['bytesFromClient', 'bytesToClient', 'statements']) ||
    !Object.values(stats).every(isCount)
  )
    return { invalid: 'stats' };
  const catalog = o['catalog'];
  if (!Array.isArray(catalog) || catalog.length !== preflightCount) return { invalid: 'catalog' };
  for (const rows of catalog) {
    if (!Array.isArray(rows)) return { invalid: 'catalog' };
    for (const row of rows) {
      if (!Array.isArray(row) || !row.every((c) => c === null || typeof c === 'string'))
        return { invalid: 'catalog' };
    }
  }
  return o as unknown as PgSnapshot;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype
  );
}

function sameKeys(o: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

function isInt32(x: unknown): boolean {
  return Number.isInteger(x) && (x as number) >= -0x80000000 && (x as number) <= 0x7fffffff;
}

function isCount(x: unknown): boolean {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}
