/**
 * What Bind and Execute may do (protocol §55.7 Bind, Execute), decided from the session's mirror
 * of the server's names (wire-state.ts): Bind may only use a statement the gateway checked and
 * the server acknowledged, once only when it was approved for one run; Execute only a portal the
 * gateway knows, under access that has not ended, reading cursors it may still read. The
 * statement flow does the forwarding and the waiting.
 */
import { displayName, readNameKey } from '../pg/names.ts';
import type { StatementChecker } from './checker.ts';
import { cursorRefusal } from './cursor-reads.ts';
import { resultFormats } from './wire-read.ts';
import type { PortalEntry, WireState } from './wire-state.ts';

/** Wait for the server's answer to a name it uses; or the batch fails with `refused`. */
export type Decision<T> = 'pending' | { refused: string; sql?: string } | T;

/**
 * A Bind: the portal it defines, as its statement allows. A statement approved for one run is
 * used up by this Bind, and the audit trail says so first (checker.approvedRun).
 */
export function bindPortal(
  body: Uint8Array,
  state: WireState,
  checker: StatementChecker,
): Decision<{ portal: string; entry: PortalEntry }> {
  const portal = readNameKey(body, 0);
  const stmt = readNameKey(body, portal.end);
  const found = state.statements.lookup(stmt.key, state.caughtUp());
  if (found === 'pending') return 'pending';
  const name = displayName(stmt.key);
  if (!found || found.may === false) {
    return {
      refused: found
        ? `statement refused: prepared statement "${name}" was refused by policy, or the approval or access it had is used up; prepare it again`
        : `statement refused: prepared statement "${name}" was not checked by Postern; prepare it with Parse`,
    };
  }
  if (found.may === 'once') {
    if (checker.approvedRun && !checker.approvedRun({ statement: name, sql: found.sql }))
      return { refused: 'statement refused: the audit log could not record it' };
    found.may = false;
  }
  const entry: PortalEntry = {
    may: true,
    plan: found.plan,
    formats: resultFormats(body, stmt.end),
    holdable: false,
    settled: false,
    sql: found.sql,
    ...(found.fields ? { fields: found.fields } : {}),
    ...(found.effects ? { effects: found.effects } : {}),
    ...(found.copyIn ? { copyIn: true } : {}),
    ...(found.reads ? { reads: found.reads } : {}),
    ...(found.rowsOf ? { rowsOf: found.rowsOf } : {}),
    ...(found.hideDetails ? { hideDetails: true } : {}),
    ...(found.audited !== undefined ? { audited: found.audited } : {}),
  };
  return { portal: portal.key, entry };
}

/**
 * An Execute: the portal it runs. A refusal with `sql` is of a checked statement the session's
 * state no longer lets run (the audit trail records it).
 */
export function executePortal(
  body: Uint8Array,
  state: WireState,
): Decision<{ key: string; entry: PortalEntry }> {
  const { key } = readNameKey(body, 0);
  const found = state.portals.lookup(key, state.caughtUp());
  if (found === 'pending') return 'pending';
  if (!found || !found.may) {
    return {
      refused: found
        ? `statement refused: the access portal "${displayName(key)}" was opened under has ended`
        : `statement refused: portal "${displayName(key)}" was not opened through Postern`,
    };
  }
  // A SQL cursor's own portal (Execute reads forward), or a FETCH/MOVE bound from a Parse: the
  // cursor it reads is looked up now, as it may have been declared again since the Parse.
  const why = cursorRefusal(found, key, true) ?? state.cursorReadRefusal(found.reads);
  if (why === 'pending') return 'pending';
  if (why) return { refused: why, sql: found.sql };
  return { key, entry: found };
}
