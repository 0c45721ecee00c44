/**
 * What a SQL FETCH or MOVE asks of a cursor, and whether the session lets it: a cursor opened
 * under access that has ended is not read again, and a cursor defined by a statement approved
 * for one run is read forward only.
 *
 * Why forward only: a cursor runs its query lazily, as rows are fetched, and a row fetched again
 * is computed again, volatile functions included (DECLARE docs: a cursor whose plan can scan
 * backward is scrollable by default, no SCROLL needed; "volatile functions … re-fetched rows
 * … may re-execute"). `FETCH BACKWARD`, `PRIOR`, `FIRST`, `LAST`, `ABSOLUTE`, `RELATIVE`,
 * `FORWARD 0` (re-fetches the current row: pquery.c DoPortalRunFetch backs up one) and a
 * negative count all revisit rows, so each would run the approved statement again. Only
 * `FORWARD n` with n > 0 (NEXT, a bare count, ALL) reads each row once.
 *
 * A WITH HOLD cursor is, when its transaction commits, run to its end into a store
 * (portalcmds.c PersistHoldablePortal), and a scrollable one is first rewound: the rows fetched
 * before the commit are computed again. So an approved WITH HOLD cursor is not read at all
 * until that commit; after it, reads come from the store and run nothing.
 */
import { displayName, nameKeyOf } from '../pg/names.ts';
import type { Lookup } from './named-objects.ts';
import type { PortalEntry } from './wire-state.ts';

/** One FETCH or MOVE: the cursor's name as a byte key, and whether it only reads forward. */
export interface CursorRead {
  key: string;
  forward: boolean;
}

/** The cursor reads among a statement list's parse trees. */
export function cursorReads(statements: ReadonlyArray<Record<string, unknown>> | undefined): CursorRead[] {
  const out: CursorRead[] = [];
  for (const node of statements ?? []) {
    const fetch = node['FetchStmt'] as Record<string, unknown> | undefined;
    if (!fetch) continue;
    // libpg_query leaves out a zero count; anything but a positive forward count revisits rows.
    const count = fetch['howMany'];
    out.push({
      key: nameKeyOf(String(fetch['portalname'] ?? '')),
      forward: fetch['direction'] === 'FETCH_FORWARD' && typeof count === 'number' && count > 0,
    });
  }
  return out;
}

/**
 * Why the session refuses to read a cursor this way (undefined: it does not; 'pending': the
 * server has not answered its definition yet). `forward`: a FETCH/MOVE that only moves
 * forward, or a protocol Execute of the cursor's portal (Execute always reads forward, §55.2.3).
 */
export function cursorRefusal(
  found: Lookup<PortalEntry>,
  key: string,
  forward: boolean,
): string | 'pending' | undefined {
  if (found === 'pending') return 'pending';
  if (!found) return undefined; // the server answers "cursor does not exist"
  const name = displayName(key);
  if (!found.may) {
    return `statement refused: the access cursor "${name}" was opened under has ended; declare it again`;
  }
  if (!found.approvedOnce) return undefined;
  if (found.holdable && !found.settled) {
    return `statement refused: cursor "${name}" runs a statement approved for one run, and committing a WITH HOLD cursor runs its rows again; read it after the transaction that declared it commits`;
  }
  if (!forward && !found.holdable) {
    return `statement refused: cursor "${name}" runs a statement approved for one run, so it reads forward only (FETCH NEXT, FORWARD n, ALL); rows read again would run the statement again. Declare it again, with a new approval, to read it again`;
  }
  return undefined;
}
