/**
 * What the gateway knows of the server's side of one session: the prepared statements and
 * portals it holds (acknowledged definitions only, see named-objects.ts) and, in order, the
 * answers it owes for what was forwarded (protocol §55.2: every message that has an answer gets
 * it in the order sent). StatementFlow writes the client side, Replies reads the server side.
 */
import type { ResultCtx, ResultPlan } from '../mask/result-masker.ts';
import type { RowField } from '../pg/rows.ts';
import type { StatementClass } from '../sql/statement-class.ts';
import { NamedObjects } from './named-objects.ts';
import { cursorRefusal, type CursorRead } from './cursor-reads.ts';
import type { ResultRef } from './statement-results.ts';

/** A prepared statement (protocol Parse or SQL PREPARE). */
export interface StatementEntry {
  /** May it be bound? true: checked and allowed; 'once': approved for one run; false: not (any more). */
  may: boolean | 'once';
  /** The statement's classification, for an EXECUTE that runs it. */
  classes?: StatementClass[];
  /** Masking's plan for its rows (undefined: nothing masked in it). */
  plan?: ResultPlan | undefined;
  /** Its result columns, from a Describe of the statement. */
  fields?: RowField[];
  /** Its text: for the audit trail when an approved statement is bound. */
  sql: string;
  /** What running it does to the server's names (it is itself a PREPARE, DECLARE...). */
  effects?: NameEffect[];
  /** It reads COPY data from the client. */
  copyIn?: boolean;
  /** The cursors it reads (a SQL FETCH or MOVE), checked when it runs. */
  reads?: CursorRead[];
  /** Its error details are withheld (StatementVerdict.hideDetails). */
  hideDetails?: boolean;
  /** Its rows are another object's: a FETCH's cursor or an EXECUTE's statement (RowsOf). */
  rowsOf?: RowsOf;
  /** The `seq` of the audit event that decided it (its runs' results refer to it). */
  audited?: number;
}

/**
 * A statement whose rows are planned elsewhere: SQL FETCH returns the rows of a cursor, SQL
 * EXECUTE those of a prepared statement. Masked by the plan of the object the server holds under
 * that name when it runs (answers come in order), as for a simple Query (replies.ts).
 */
export interface RowsOf {
  kind: 'cursor' | 'statement';
  key: string;
}

/** A portal (protocol Bind, or a SQL cursor). */
export interface PortalEntry {
  /** May it be executed (false once the access it was bound under ended). */
  may: boolean;
  /** Its error details are withheld (StatementVerdict.hideDetails). */
  hideDetails?: boolean;
  plan: ResultPlan | undefined;
  fields?: RowField[];
  /** Its statement reads COPY data from the client. */
  copyIn?: boolean;
  /** Result format codes from Bind (§55.7 Bind: none = all text, one = all alike). */
  formats: number[];
  /** A WITH HOLD cursor survives the end of the transaction that committed it. */
  holdable: boolean;
  /** Holdable, and the transaction that made it committed. */
  settled: boolean;
  /** Masking's per-result work, done at the first row. */
  ctx?: ResultCtx;
  /** The SQL text it runs ('' when unknown). */
  sql: string;
  /** Named by a statement whose effects the server may run (SQL DECLARE through Execute). */
  effects?: NameEffect[];
  /** Its statement reads cursors (a SQL FETCH or MOVE), checked at each Execute. */
  reads?: CursorRead[];
  /** Its statement's rows are another object's (a SQL FETCH or EXECUTE). */
  rowsOf?: RowsOf;
  /** A SQL cursor defined by a statement approved for one run: read forward only (cursor-reads.ts). */
  approvedOnce?: boolean;
  /** The `seq` of the audit event that decided its statement (StatementEntry.audited). */
  audited?: number;
}

/** How a statement changes the server's names when it completes. */
export type NameEffect =
  | { kind: 'prepare'; key: string; entry: StatementEntry }
  | { kind: 'declare'; key: string; entry: PortalEntry }
  | { kind: 'deallocate'; key: string | undefined }
  | { kind: 'close'; key: string | undefined }
  | { kind: 'discard' };

/** One statement of a simple Query, as forwarded. */
export interface QueryStatement {
  node: Record<string, unknown>;
  effects: NameEffect[] | undefined;
  /** Its error details are withheld (StatementVerdict.hideDetails). */
  hideDetails?: boolean;
}

/** An answer the server owes, in order. */
export type Expect =
  | {
      k: 'query';
      stmts: QueryStatement[];
      i: number;
      ctx?: ResultCtx;
      injectBefore?: Uint8Array;
      /** Sent inside an unfinished extended-query batch: the server skips it if the batch failed. */
      inBatch?: boolean;
      /** Its audit event and when it was sent, for its statements' results (statement-results.ts). */
      result?: ResultRef;
    }
  | { k: 'parse'; key: string; entry: StatementEntry; result?: ResultRef }
  | { k: 'bind'; key: string; entry: PortalEntry; result?: ResultRef }
  | { k: 'describe'; entry: StatementEntry | PortalEntry | undefined; injected: boolean }
  | {
      k: 'execute';
      entry: PortalEntry;
      effects: NameEffect[] | undefined;
      /** Masking's per-result work of a portal whose rows are another object's (rowsOf). */
      ctx?: ResultCtx;
      result?: ResultRef;
    }
  | { k: 'close' }
  | { k: 'sync'; injectBefore?: Uint8Array }
  /** The client ended a COPY FROM STDIN here: nothing is answered for it (copy-in.ts). */
  | { k: 'copyend' }
  /** A refusal the gateway answers itself, once everything before it has been answered. */
  | { k: 'synthetic'; message: string; inBatch?: boolean };

export class WireState {
  readonly statements = new NamedObjects<StatementEntry>();
  readonly portals = new NamedObjects<PortalEntry>();
  readonly expected: Expect[] = [];
  /** The target's last transaction status, for the ReadyForQuery the gateway makes up. */
  txStatus: 'I' | 'T' | 'E' = 'I';
  /** COPY FROM STDIN: none, sent (the server has not answered yet), active (CopyInResponse came). */
  copyIn: 'none' | 'sent' | 'active' = 'none';
  /**
   * The server reported an error in the extended protocol and skips every message up to Sync,
   * a simple Query included (§55.2.3); its next ReadyForQuery answers that Sync.
   */
  skipping = false;

  /** Some answer of the server is still due (the ends of client copies have none). */
  outstanding(): boolean {
    for (const e of this.expected) if (e.k !== 'copyend') return true;
    return false;
  }

  /**
   * The server has answered every batch sent before the current one (a Query sent inside the
   * current batch is part of it).
   */
  caughtUp(): boolean {
    for (const e of this.expected) {
      if (e.k === 'sync' || ((e.k === 'query' || e.k === 'synthetic') && !e.inBatch)) return false;
    }
    return true;
  }

  /** The batch ended (Sync, or the end of one Query). */
  endBatch(): void {
    this.statements.endBatch();
    this.portals.endBatch();
  }

  /** Names defined by `effects` are being sent; names they remove are forgotten now. */
  sendEffects(effects: NameEffect[] | undefined): void {
    if (!effects) return;
    for (const e of effects) {
      switch (e.kind) {
        case 'prepare':
          this.statements.define(e.key, e.entry);
          break;
        case 'declare':
          this.portals.define(e.key, e.entry);
          break;
        case 'deallocate':
          if (e.key === undefined) this.statements.forgetAll();
          else this.statements.forget(e.key);
          break;
        case 'close':
          if (e.key === undefined) this.portals.forgetAll();
          else this.portals.forget(e.key);
          break;
        case 'discard':
          this.statements.forgetAll();
          this.portals.forgetAll();
          break;
      }
    }
  }

  /**
   * A Query sent inside an unfinished batch defines these names: the rest of the batch may not
   * use them. The server runs that rest even if the Query fails (only an extended-protocol error
   * skips to Sync, §55.2.3), so it could find its old object, or none, under the name.
   */
  unknownInBatch(effects: NameEffect[] | undefined): void {
    for (const e of effects ?? []) {
      if (e.kind === 'prepare') this.statements.forget(e.key);
      else if (e.kind === 'declare') this.portals.forget(e.key);
    }
  }

  /** The statement that carried `effects` completed (ok) or never ran (not ok). */
  settleEffects(effects: NameEffect[] | undefined, ok: boolean): void {
    if (!effects) return;
    for (const e of effects) {
      const names = e.kind === 'prepare' ? this.statements : e.kind === 'declare' ? this.portals : undefined;
      if (!names || e.kind === 'deallocate' || e.kind === 'close' || e.kind === 'discard') continue;
      if (ok) names.acknowledged(e.key, e.entry as never);
      else names.rejected(e.key);
    }
  }

  /**
   * The access a session was granted ended: no prepared statement may be bound and no portal or
   * cursor run again until checked anew (acknowledged, in this batch, or still unanswered).
   */
  forgetAccess(): void {
    for (const s of this.statements.entries()) s.may = false;
    for (const p of this.portals.entries()) p.may = false;
    const effects = (list: NameEffect[] | undefined) => {
      for (const x of list ?? []) if (x.kind === 'prepare' || x.kind === 'declare') x.entry.may = false;
    };
    for (const e of this.expected) {
      if (e.k === 'parse' || e.k === 'bind') e.entry.may = false;
      else if (e.k === 'query') for (const st of e.stmts) effects(st.effects);
      else if (e.k === 'execute') effects(e.effects);
    }
  }

  /**
   * Why the session refuses these cursor reads, if it does ('pending': a cursor's definition is
   * not answered yet; ask again once it is). See cursor-reads.ts.
   */
  cursorReadRefusal(reads: CursorRead[] | undefined): string | 'pending' | undefined {
    for (const r of reads ?? []) {
      const why = cursorRefusal(this.portals.lookup(r.key, this.caughtUp()), r.key, r.forward);
      if (why) return why;
    }
    return undefined;
  }
}
