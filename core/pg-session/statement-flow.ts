/**
 * Policy on the wire, for both query protocols (protocol §55.2.2 simple, §55.2.3 extended):
 *
 * - Query: every statement in it is checked; a refusal answers ErrorResponse + ReadyForQuery
 *   itself and nothing reaches the target.
 * - Parse is checked; a refused Parse (and everything after it up to Sync, as a server skips
 *   after an error) is dropped. Bind may only use a statement the gateway checked and the server
 *   acknowledged (wire-state.ts); Execute only a portal it knows (portal-messages.ts).
 *   FunctionCall (fastpath, which bypasses SQL) is always refused.
 * - Names are the exact bytes the server compares (core/pg/names.ts). A message naming a
 *   statement or portal whose definition the server has not answered yet waits, with everything
 *   after it, until the answer comes: a rejected definition leaves the server's old object.
 * - Answers the gateway makes up reach the client in order with the target's answers
 *   (replies.ts places them).
 */
import type { ResultMasker } from '../mask/result-masker.ts';
import type { PgFrame } from '../pg/framer.ts';
import { nameKeyOf, readNameKey } from '../pg/names.ts';
import { Frontend, Target } from '../pg/message-types.ts';
import { typedMessage } from '../pg/messages.ts';
import { rawBytes } from './frame-queue.ts';
import { HeldMessages, type Held } from './held-messages.ts';
import { queryStatements, statementEntry } from './name-effects.ts';
import { refusalError } from './refusal.ts';
import { ClientOutput } from './client-output.ts';
import { WireState } from './wire-state.ts';
import type { HoldTicket, PreparedLookup, StatementChecker, StatementVerdict } from './checker.ts';
import { keyBytes, sqlText } from './wire-read.ts';
import { bindPortal, executePortal } from './portal-messages.ts';
import { CopyIn, copiesFromClient } from './copy-in.ts';
import { ClientMessageError } from './client-message-error.ts';
import { cursorReads } from './cursor-reads.ts';
import type { ResultRef } from './statement-results.ts';

const NOT_UTF8: StatementVerdict = { allowed: false, message: 'statement refused: it is not valid UTF-8' };

export { INSUFFICIENT_PRIVILEGE } from './refusal.ts';
export type {
  CheckedProtocol,
  HoldTicket,
  PreparedLookup,
  StatementChecker,
  StatementVerdict,
} from './checker.ts';

export class StatementFlow {
  readonly #state = new WireState();
  readonly #output: ClientOutput;
  readonly #copyIn = new CopyIn(this.#state);
  #batchError: string | undefined;
  #batchForwarded = false;
  /** Portals described in this batch since their Bind: their rows come with a description. */
  readonly #described = new Set<string>();
  /** A statement held for approval, a wait for the server, and the messages queued behind. */
  readonly #wait = new HeldMessages();

  constructor(
    private readonly checker: StatementChecker,
    private readonly toUpstream: (bytes: Uint8Array) => void,
    toClient: (bytes: Uint8Array) => void,
    private readonly masker?: ResultMasker,
    private readonly onHold?: (ticket: HoldTicket) => void,
  ) {
    this.#output = new ClientOutput(this.#state, toClient, masker, checker.results);
  }

  /** A statement is waiting for approval. */
  get holding(): boolean {
    return this.#wait.holding;
  }

  /**
   * Why the flow is not idle-complete now, undefined when it is (session-snapshot.ts): only
   * then does a snapshot hold all it needs. Named objects keep it in memory (their verdicts,
   * plans and approved-once marks are not snapshotted).
   */
  busy(): string | undefined {
    const s = this.#state;
    if (this.#wait.blocked) return 'a statement is held for approval or waits for the server';
    if (s.expected.length > 0 || s.skipping) return 'an answer of the server is due';
    if (s.copyIn !== 'none') return 'a COPY is running';
    if (this.#batchError !== undefined || this.#batchForwarded) return 'an extended-query batch is open';
    if (s.txStatus !== 'I') return 'a transaction is open';
    if (!s.statements.empty() || !s.portals.empty()) return 'the server holds prepared statements or portals';
    return undefined;
  }

  readonly #lookup: PreparedLookup = (name) => {
    const e = this.#state.statements.lookup(nameKeyOf(name), this.#state.caughtUp());
    return e === 'pending' ? 'pending' : e?.classes;
  };

  #check(sql: string | undefined, protocol: 'simple' | 'extended'): StatementVerdict {
    return sql === undefined ? NOT_UTF8 : this.checker.check(sql, protocol, this.#lookup);
  }

  /**
   * A big client message can go to the target in pieces as it comes (big-messages.ts) when
   * nothing needs to read it: CopyData while nothing waits. It counts as sent.
   */
  passOn(head: PgFrame): boolean {
    if (head.type !== Frontend.CopyData || this.#wait.blocked) return false;
    this.#copyIn.client(head);
    return true;
  }

  /** A big target message can go to the client as it comes, unread (an unmasked row). */
  streamable(type: number): boolean {
    return this.#output.streamable(type);
  }

  /** Client messages after startup; returns the messages to forward, in order. */
  client(frames: PgFrame[]): PgFrame[] {
    const forward: PgFrame[] = [];
    for (const f of frames) {
      if (this.#wait.blocked) this.#wait.queue(f);
      else if (!this.#message(f, forward)) {
        // It names something the server has not confirmed: it and what follows wait.
        this.#flushForward(forward);
        this.#wait.waiting = true;
        this.#wait.queue(f);
      }
    }
    return forward;
  }

  /** One client message; false when it must wait for the server's answer to a name it uses. */
  #message(f: PgFrame, forward: PgFrame[]): boolean {
    const copy = this.#copyIn.client(f);
    if (f.refused !== undefined) return this.#refusedMessage(f, f.refused, forward);
    if (copy === 'forward') {
      forward.push(f);
      return true;
    }
    if (copy === 'sync') {
      // The batch that starts the copy ends here; the server answers this Sync only if the copy
      // does not start (replies.ts drops the expectation when CopyInResponse comes).
      forward.push(f);
      this.#state.expected.push({ k: 'sync' });
      this.#batchForwarded = false;
      this.#endBatch();
      return true;
    }
    switch (f.type) {
      case Frontend.Query: {
        // After an error in an extended batch the server ignores everything up to Sync (§55.2.3),
        // a Query included: so does the gateway. A Query inside a batch that has not failed runs
        // at once with its own ReadyForQuery (pgJDBC's autosave SAVEPOINT): its expectation, or
        // its refusal, is marked inBatch and dropped if the batch fails before it (replies.ts).
        if (this.#batchError !== undefined) return true;
        const sql = sqlText(f.body, 0);
        const v = this.#check(sql, 'simple');
        if (v.wait) return false;
        if (v.hold && this.onHold) {
          this.#flushForward(forward);
          this.#hold(f, 'simple', '', sql!, v);
        } else if (v.allowed) {
          // FETCH reads a cursor opened earlier: under access that may have ended since, or
          // over a statement approved for one run (cursor-reads.ts).
          const why = this.#state.cursorReadRefusal(cursorReads(v.statements));
          if (why === 'pending') return false;
          if (why) {
            this.#flushForward(forward);
            this.#refuseRun(sql!, why);
            this.#synthetic(why);
          } else this.#forwardQuery(forward, f, sql!, v, true);
        } else {
          this.#flushForward(forward);
          this.#synthetic(v.message);
        }
        return true;
      }
      case Frontend.Parse: {
        if (this.#batchError !== undefined) return true;
        const name = readNameKey(f.body, 0);
        const sql = sqlText(f.body, name.end);
        const v = this.#check(sql, 'extended');
        if (v.wait) return false;
        if (v.hold && this.onHold) {
          this.#flushForward(forward);
          this.#hold(f, 'extended', name.key, sql!, v);
        } else if (v.allowed) this.#forwardParse(forward, f, name.key, sql!, v, true);
        // Not forwarded: the server keeps whatever it had under the name, and so does the mirror.
        else this.#batchError = v.message;
        return true;
      }
      case Frontend.Bind:
        return this.#bind(f, forward);
      case Frontend.Describe: {
        if (this.#batchError !== undefined) return true;
        const portal = f.body[0] === Target.Portal;
        const { key } = readNameKey(f.body, 1);
        const caughtUp = this.#state.caughtUp();
        const found = portal
          ? this.#state.portals.lookup(key, caughtUp)
          : this.#state.statements.lookup(key, caughtUp);
        if (found === 'pending') return false;
        if (portal) this.#described.add(key);
        this.#state.expected.push({ k: 'describe', entry: found, injected: false });
        this.#forwardInBatch(forward, f);
        return true;
      }
      case Frontend.Execute:
        return this.#execute(f, forward);
      case Frontend.Close: {
        if (this.#batchError !== undefined) return true;
        const { key } = readNameKey(f.body, 1);
        if (f.body[0] === Target.Statement) this.#state.statements.forget(key);
        else {
          this.#state.portals.forget(key);
          this.#described.delete(key);
        }
        this.#state.expected.push({ k: 'close' });
        this.#forwardInBatch(forward, f);
        return true;
      }
      case Frontend.Sync: {
        if (this.#batchError === undefined) {
          forward.push(f);
          this.#state.expected.push({ k: 'sync' });
        } else if (this.#batchForwarded) {
          // Part of the batch already went; the target answers it, then our error goes
          // before its ReadyForQuery.
          forward.push(f);
          this.#state.expected.push({ k: 'sync', injectBefore: refusalError(this.#batchError) });
        } else {
          this.#flushForward(forward);
          this.#synthetic(this.#batchError);
        }
        this.#batchError = undefined;
        this.#batchForwarded = false;
        this.#endBatch();
        return true;
      }
      case Frontend.FunctionCall:
        this.#flushForward(forward);
        this.#synthetic('function calls over the fastpath protocol are not allowed through Postern');
        return true;
      case Frontend.Flush:
        if (this.#batchError === undefined) forward.push(f);
        return true;
      default:
        // COPY data from the client, Terminate: no answer of their own.
        forward.push(f);
        return true;
    }
  }

  /**
   * A message the session did not take (too large to hold): answered as a server answers a
   * statement that fails, none of it forwarded. A Query gets ErrorResponse + ReadyForQuery; in an
   * extended batch the rest up to Sync is skipped and Sync answers the error (§55.2.3).
   */
  #refusedMessage(f: PgFrame, why: string, forward: PgFrame[]): boolean {
    if (this.#batchError !== undefined) return true;
    if (f.type === Frontend.Query || f.type === Frontend.FunctionCall) {
      if (this.#batchForwarded) {
        throw new ClientMessageError(
          'a Query was sent inside an unfinished extended-query batch (send Sync first)',
        );
      }
      this.#flushForward(forward);
      this.#synthetic(why);
    } else this.#batchError = why;
    return true;
  }

  #bind(f: PgFrame, forward: PgFrame[]): boolean {
    if (this.#batchError !== undefined) return true;
    const d = bindPortal(f.body, this.#state, this.checker);
    if (d === 'pending') return false;
    if ('refused' in d) {
      this.#batchError = d.refused;
      return true;
    }
    this.#state.portals.define(d.portal, d.entry);
    this.#described.delete(d.portal);
    this.#state.expected.push({ k: 'bind', key: d.portal, entry: d.entry, ...this.#timed(d.entry.audited) });
    this.#forwardInBatch(forward, f);
    return true;
  }

  #execute(f: PgFrame, forward: PgFrame[]): boolean {
    if (this.#batchError !== undefined) return true;
    const d = executePortal(f.body, this.#state);
    if (d === 'pending') return false;
    if ('refused' in d) {
      if (d.sql !== undefined) this.#refuseRun(d.sql, d.refused);
      this.#batchError = d.refused;
      return true;
    }
    const { key, entry: found } = d;
    if (this.masker?.needsColumns && !found.fields && !this.#described.has(key)) {
      // Masking needs to know the columns of these rows, and nobody asked: ask (§55.7 Describe).
      // The answer is the gateway's and is not passed on.
      const raw = typedMessage(Frontend.Describe, new Uint8Array([Target.Portal]), keyBytes(key));
      forward.push({ type: Frontend.Describe, raw, body: raw.subarray(5) });
      this.#state.expected.push({ k: 'describe', entry: found, injected: true });
      this.#described.add(key);
    }
    this.#state.sendEffects(found.effects);
    this.#state.expected.push({
      k: 'execute',
      entry: found,
      effects: found.effects,
      ...this.#timed(found.audited),
    });
    if (found.copyIn) this.#copyIn.started();
    this.#forwardInBatch(forward, f);
    return true;
  }

  /**
   * Ends the wait of the held statement: approved, it goes to the target (once) and the client
   * gets the target's answer; refused, the client gets `message` as an ErrorResponse. Then the
   * messages that queued behind it are processed; returns those to forward.
   */
  release(approved: boolean, message: string): PgFrame[] {
    const h = this.#wait.release();
    if (!h) return [];
    const forward: PgFrame[] = [];
    if (h.protocol === 'simple') {
      if (approved) this.#forwardQuery(forward, h.frame, h.sql, h.verdict, 'once');
      else this.#synthetic(message);
    } else if (approved) this.#forwardParse(forward, h.frame, h.key, h.sql, h.verdict, 'once');
    else this.#batchError = message;
    // What follows must reach the target after the released statement.
    this.#flushForward(forward);
    return this.client(this.#wait.take());
  }

  /**
   * Every prepared statement must be Parsed (and checked) again before it runs, and no open
   * portal runs again: what allowed them may be gone (an access grant ended).
   */
  forgetStatements(): void {
    this.#state.forgetAccess();
  }

  /**
   * Target messages after startup, in order; returns what goes to the client, with made-up
   * answers inserted where they belong.
   */
  upstream(frames: PgFrame[]): Uint8Array[] {
    // ReadyForQuery ends a batch: once every earlier one is answered, what waits goes on.
    return this.#output.upstream(frames, () => {
      if (this.#wait.waiting && this.#state.caughtUp()) this.#settled();
    });
  }

  /** The server has answered every earlier batch: what waited is decided now, exactly. */
  #settled(): void {
    if (!this.#wait.waiting || this.#wait.holding) return;
    this.#wait.waiting = false;
    let forward: PgFrame[];
    try {
      forward = this.client(this.#wait.take());
    } catch (e) {
      // Decided while the target's answers are read, but these are the client's messages.
      throw e instanceof ClientMessageError ? e : new ClientMessageError((e as Error).message);
    }
    this.#flushForward(forward);
  }

  #forwardQuery(forward: PgFrame[], f: PgFrame, sql: string, v: StatementVerdict, may: true | 'once'): void {
    const stmts = queryStatements(v, sql, may, this.masker);
    for (const s of stmts) this.#state.sendEffects(s.effects);
    // Inside an unfinished extended-query batch the Query is part of that batch: the server
    // skips it if the batch failed before it, else runs it at once (with its own ReadyForQuery)
    // and goes on with the batch whether it failed or not.
    const inBatch = this.#batchForwarded;
    this.#state.expected.push({
      k: 'query',
      stmts,
      i: 0,
      ...(inBatch ? { inBatch } : {}),
      ...this.#timed(v.audited),
    });
    if (stmts.some((s) => copiesFromClient(s.node))) this.#copyIn.started();
    forward.push(f);
    if (inBatch) for (const s of stmts) this.#state.unknownInBatch(s.effects);
    else this.#endBatch();
  }

  #forwardParse(
    forward: PgFrame[],
    f: PgFrame,
    key: string,
    sql: string,
    v: StatementVerdict,
    may: true | 'once',
  ): void {
    const entry = statementEntry(v, sql, may, this.masker);
    this.#state.statements.define(key, entry);
    this.#state.expected.push({ k: 'parse', key, entry, ...this.#timed(v.audited) });
    this.#forwardInBatch(forward, f);
  }

  #hold(frame: PgFrame, protocol: Held['protocol'], key: string, sql: string, v: StatementVerdict): void {
    this.#wait.hold(frame, protocol, key, sql, v);
    this.onHold!(v.hold!);
  }

  /** What the answer's result needs (statement-results.ts): nothing when nobody times them. */
  #timed(audited: number | undefined): { result?: ResultRef } {
    const results = this.checker.results;
    return results && audited !== undefined ? { result: { of: audited, sentAt: results.now() } } : {};
  }

  #endBatch(): void {
    this.#state.endBatch();
    this.#described.clear();
  }

  /** Forwarded messages so far must leave before a synthetic answer is considered. */
  #flushForward(forward: PgFrame[]): void {
    if (forward.length === 0) return;
    const bytes = rawBytes(forward);
    forward.length = 0;
    this.toUpstream(bytes);
  }

  #forwardInBatch(forward: PgFrame[], f: PgFrame): void {
    forward.push(f);
    this.#batchForwarded = true;
  }

  /** A checked statement the session's state refuses to run: the audit trail says so too. */
  #refuseRun(sql: string, message: string): void {
    this.checker.refusedRun?.({ sql, message });
  }

  #synthetic(message: string): void {
    this.#output.synthetic(message, this.#batchForwarded);
  }
}
