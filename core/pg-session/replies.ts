/**
 * The server's side of a session, message by message: each answer is matched to what was
 * forwarded (WireState.expected), definitions of names are believed only when acknowledged, and
 * result rows are masked against the columns of the statement or portal they belong to. If an
 * answer does not fit what was sent, the session ends (fail closed): masking could otherwise be
 * applied to the wrong columns.
 *
 *   ParseComplete '1' → the statement name is defined     BindComplete '2' → the portal is
 *   CommandComplete 'C' → a PREPARE / DECLARE in it took    ErrorResponse 'E' → what was pending
 *   effect                                                  up to Sync (or the rest of a Query)
 *   ReadyForQuery 'Z' → the batch is answered; portals       never happened
 *   end with their transaction
 */
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';
import { Backend, TxStatus, typeName } from '../pg/message-types.ts';
import { parseCopyOutResponse, parseRowDescription } from '../pg/rows.ts';
import type { ResultCtx, ResultMasker } from '../mask/result-masker.ts';
import type { Expect, StatementEntry, WireState } from './wire-state.ts';
import { refusalAnswer } from './refusal.ts';
import { copiesFromClient } from './copy-in.ts';
import { withoutRowDetails } from './withheld-details.ts';
import { hidesDetails, ResultPlans } from './result-plans.ts';
import {
  errorCode,
  ResultClock,
  tagResult,
  type ResultSink,
  type StatementResult,
} from './statement-results.ts';

const dec = new TextDecoder();

export class Replies {
  /** An error arrived since the transaction began (it will not commit). */
  #txFailed = false;
  /** The last CommandComplete tag (ROLLBACK, COMMIT...). */
  #lastTag = '';
  /** Times statements and hands on their results (statement-results.ts), when asked to. */
  readonly #clock: ResultClock | undefined;
  /** The masking plan of the statement each answer belongs to (result-plans.ts). */
  readonly #plans: ResultPlans;

  constructor(
    private readonly state: WireState,
    private readonly masker: ResultMasker | undefined,
    results?: ResultSink,
  ) {
    this.#clock = results ? new ResultClock(results) : undefined;
    this.#plans = new ResultPlans(state, masker);
  }

  /**
   * Target messages, in order; returns what goes to the client (null: swallowed, an answer to
   * a message the gateway itself added). Synthetic answers are placed where they belong.
   */
  upstream(f: PgFrame, out: Uint8Array[]): void {
    this.#settleHead(out);
    this.#answer(f, out);
    // A refusal standing for a Query inside a batch goes out as soon as what came before it is
    // answered (the client may wait for it before sending Sync).
    this.#settleHead(out);
  }

  #answer(f: PgFrame, out: Uint8Array[]): void {
    const expected = this.state.expected;
    const head = expected[0];
    const masking = this.masker?.active === true;
    switch (f.type) {
      case Backend.DataRow: {
        if (!masking) return void out.push(f.raw);
        const ctx = this.#rowsCtx(head, 'DataRow');
        return void out.push(this.masker!.row(ctx, f));
      }
      case Backend.ParseComplete: {
        const e = this.#shift(head, 'parse', f);
        this.state.statements.acknowledged(e.key, e.entry);
        return void out.push(f.raw);
      }
      case Backend.BindComplete: {
        const e = this.#shift(head, 'bind', f);
        this.state.portals.acknowledged(e.key, e.entry);
        return void out.push(f.raw);
      }
      case Backend.CloseComplete:
        this.#shift(head, 'close', f);
        return void out.push(f.raw);
      case Backend.ParameterDescription:
        if (head?.k !== 'describe') throw desync('ParameterDescription');
        return void out.push(f.raw);
      case Backend.NoData: {
        const e = this.#shift(head, 'describe', f);
        if (!e.injected) out.push(f.raw);
        return;
      }
      case Backend.RowDescription:
        return this.#rowDescription(head, f, out);
      case Backend.CommandComplete:
      case Backend.EmptyQueryResponse:
        if (f.type === Backend.CommandComplete) {
          this.#lastTag = commandTag(f.body);
          this.#result(head, tagResult(this.#lastTag));
        }
        if (head?.k === 'query') {
          const s = head.stmts[head.i];
          this.state.settleEffects(s?.effects, true);
          head.i++;
          head.ctx = undefined;
          return void out.push(f.raw);
        }
        if (head?.k === 'execute') {
          expected.shift();
          this.state.settleEffects(head.effects, true);
          return void out.push(f.raw);
        }
        throw desync('CommandComplete');
      case Backend.PortalSuspended:
        this.#shift(head, 'execute', f);
        return void out.push(f.raw);
      case Backend.CopyOutResponse: {
        const formats = parseCopyOutResponse(f.body).columnFormats;
        if (head?.k === 'query') {
          const node = head.stmts[head.i]?.node;
          head.ctx = { plan: masking && node ? this.masker!.plan(node) : undefined, formats, copy: true };
        } else if (head?.k === 'execute') {
          head.entry.ctx = { plan: head.entry.plan, formats, copy: true };
        } else throw desync('CopyOutResponse');
        return void out.push(f.raw);
      }
      case Backend.CopyInResponse: {
        if (head?.k !== 'query' && head?.k !== 'execute') throw desync('CopyInResponse');
        // The server now ignores Sync until the copy ends (§55.2.6): the Syncs the client sent
        // before its data will not be answered (copy-in.ts allows no others).
        if (this.state.copyIn === 'sent') this.state.copyIn = 'active';
        for (let i = 1; i < expected.length; i++) {
          const e = expected[i]!;
          if (e.k === 'copyend') break;
          if (e.k === 'sync') expected.splice(i--, 1);
        }
        return void out.push(f.raw);
      }
      case Backend.CopyData: {
        // From the target, CopyData is always COPY OUT rows (COPY FROM data flows the other way).
        if (!masking) return void out.push(f.raw);
        const ctx =
          head?.k === 'query' ? head.ctx : head?.k === 'execute' ? this.#plans.executeCtx(head) : undefined;
        if (!ctx) throw desync('CopyData');
        return void out.push(this.masker!.copyData(ctx, f));
      }
      case Backend.ErrorResponse: {
        // Its plan before #error moves past the statement that raised it.
        const plan = masking ? this.#plans.currentPlan(head) : undefined;
        const g = hidesDetails(head) ? withoutRowDetails(f) : f;
        const sqlstate = errorCode(f.body);
        this.#result(head, sqlstate ? { sqlstate } : {});
        this.#error(head);
        return void out.push(masking ? this.masker!.fields(g, plan) : g.raw);
      }
      case Backend.NoticeResponse: {
        const g = hidesDetails(head) ? withoutRowDetails(f) : f;
        return void out.push(masking ? this.masker!.fields(g, this.#plans.currentPlan(head)) : g.raw);
      }
      case Backend.NotificationResponse:
        return void out.push(masking ? this.masker!.notification(f) : f.raw);
      case Backend.ReadyForQuery:
        return this.#ready(f, out);
      default:
        return void out.push(f.raw); // ParameterStatus, CopyDone, CopyInResponse...
    }
  }

  /**
   * Can a big target message of this type go to the client as it comes, unread (big-messages.ts)?
   * Only rows: a DataRow or COPY OUT CopyData of a result nothing in which is masked. Throws, as
   * the row itself would, when rows come that fit nothing sent.
   */
  streamable(type: number): boolean {
    if (type !== Backend.DataRow && type !== Backend.CopyData) return false;
    if (this.masker?.active !== true) return true;
    if (type === Backend.CopyData) return false;
    return this.masker.passesUnread(this.#rowsCtx(this.state.expected[0], 'DataRow'));
  }

  /**
   * Entries at the head that wait for no answer: the ends of client copies are dropped, and
   * refusals the gateway made up go out now that everything before them has been answered.
   */
  #settleHead(out: Uint8Array[]): void {
    const expected = this.state.expected;
    for (;;) {
      const e = expected[0];
      if (e?.k === 'copyend') expected.shift();
      else if (e?.k === 'synthetic') {
        expected.shift();
        // A refusal inside a batch the server is skipping stands for a message it skips too.
        if (!(e.inBatch && this.state.skipping)) out.push(refusalAnswer(e.message, this.state.txStatus));
      } else return;
    }
  }

  #shift<K extends Expect['k']>(head: Expect | undefined, k: K, f: PgFrame): Extract<Expect, { k: K }> {
    if (head?.k !== k) throw desync(`${typeName(f.type)} while expecting ${head?.k ?? 'nothing'}`);
    this.state.expected.shift();
    return head as Extract<Expect, { k: K }>;
  }

  #rowDescription(head: Expect | undefined, f: PgFrame, out: Uint8Array[]): void {
    const fields = parseRowDescription(f.body);
    if (head?.k === 'query') {
      if (this.masker?.active) {
        const node = head.stmts[head.i]?.node;
        head.ctx = {
          plan: node ? this.#plans.queryPlan(node) : undefined,
          fields,
          formats: fields.map((x) => x.format),
        };
      }
      return void out.push(f.raw);
    }
    if (head?.k !== 'describe') throw desync('RowDescription');
    this.state.expected.shift();
    if (head.entry) {
      head.entry.fields = fields;
      if ('ctx' in head.entry) head.entry.ctx = undefined; // worked out again with the fields
    }
    if (!head.injected) out.push(f.raw);
  }

  #rowsCtx(head: Expect | undefined, what: string): ResultCtx {
    if (head?.k === 'query') {
      if (!head.ctx) throw desync(`${what} before RowDescription`);
      return head.ctx;
    }
    if (head?.k === 'execute') return this.#plans.executeCtx(head);
    throw desync(what);
  }

  #error(head: Expect | undefined): void {
    this.#txFailed = true;
    // A COPY FROM STDIN that fails (or is skipped) before CopyInResponse never starts.
    if (this.state.copyIn === 'sent' && this.#skipsCopy(head)) this.state.copyIn = 'none';
    if (head?.k === 'query') {
      // The rest of the Query's statements will not run.
      for (let j = head.i; j < head.stmts.length; j++)
        this.state.settleEffects(head.stmts[j]!.effects, false);
      head.i = head.stmts.length;
      return;
    }
    // Extended protocol: the server skips everything up to Sync (§55.2.3), a Query sent inside
    // the batch included; so do we.
    this.state.skipping = true;
    this.#skipToSync();
  }

  /** Drops what the server skips after an extended-protocol error: the rest of the batch. */
  #skipToSync(): void {
    const expected = this.state.expected;
    while (expected.length > 0) {
      const e = expected[0]!;
      if (e.k === 'sync' || ((e.k === 'query' || e.k === 'synthetic') && !e.inBatch)) break;
      expected.shift();
      if (e.k === 'parse') this.state.statements.rejected(e.key);
      else if (e.k === 'bind') this.state.portals.rejected(e.key);
      else if (e.k === 'execute') this.state.settleEffects(e.effects, false);
      else if (e.k === 'query') for (const s of e.stmts) this.state.settleEffects(s.effects, false);
    }
  }

  /** Does this error end (or skip) the statement that would start the client's copy? */
  #skipsCopy(head: Expect | undefined): boolean {
    if (head?.k === 'query') return head.stmts.slice(head.i).some((s) => copiesFromClient(s.node));
    for (const e of this.state.expected) {
      if (e.k === 'sync' || ((e.k === 'query' || e.k === 'synthetic') && !e.inBatch)) return false;
      if (e.k === 'execute' && e.entry.copyIn) return true;
      if (e.k === 'query' && e.stmts.some((s) => copiesFromClient(s.node))) return true;
    }
    return false;
  }

  /** The statement at the head finished (or failed): its result, when statements are timed. */
  #result(head: Expect | undefined, outcome: Pick<StatementResult, 'command' | 'rows' | 'sqlstate'>): void {
    if (!this.#clock || !head) return;
    if (head.k === 'query') {
      if (head.result) this.#clock.done(head.result, head.stmts.length > 1 ? head.i : undefined, outcome);
    } else if (head.k === 'execute' || head.k === 'parse' || head.k === 'bind') {
      if (head.result) this.#clock.done(head.result, undefined, outcome);
    }
  }

  #ready(f: PgFrame, out: Uint8Array[]): void {
    this.#clock?.answered();
    const expected = this.state.expected;
    const status = String.fromCharCode(f.body[0] ?? TxStatus.Idle) as 'I' | 'T' | 'E';
    this.state.txStatus = status;
    let injectBefore: Uint8Array | undefined;
    // Skipping after an error, the server answers the Sync: what was sent in between was skipped.
    if (this.state.skipping) this.#skipToSync();
    this.state.skipping = false;
    // Everything up to the Query or Sync this answers; anything left of it was skipped.
    while (expected.length > 0) {
      const e = expected[0]!;
      if (e.k === 'synthetic') break;
      expected.shift();
      if (e.k === 'query' || e.k === 'sync') {
        injectBefore = e.injectBefore;
        break;
      }
      if (e.k === 'parse') this.state.statements.rejected(e.key);
      else if (e.k === 'bind') this.state.portals.rejected(e.key);
      else if (e.k === 'execute') this.state.settleEffects(e.effects, false);
    }
    if (status === 'I') this.#transactionEnded();
    if (injectBefore) out.push(injectBefore);
    out.push(f.raw);
    this.#settleHead(out);
  }

  /**
   * Portals end with their transaction, except WITH HOLD cursors of a transaction that
   * committed (a failed or rolled back one takes them too).
   */
  #transactionEnded(): void {
    const committed = !this.#txFailed && this.#lastTag !== 'ROLLBACK';
    this.state.portals.retain((p) => {
      const keep = p.holdable && (p.settled || committed);
      if (keep) p.settled = true;
      return keep;
    });
    this.#txFailed = false;
  }
}

function commandTag(body: Uint8Array): string {
  const end = body.indexOf(0);
  return dec.decode(body.subarray(0, end < 0 ? body.length : end));
}

export function desync(what: string): PosternError {
  return new PosternError(
    'PROTOCOL_VIOLATION',
    `unexpected ${what} from the target (the gateway lost track)`,
  );
}

export type { StatementEntry };
