/**
 * Policy on the wire, for both query protocols (protocol §55.2.2 simple, §55.2.3 extended):
 *
 * - Query: every statement in it is checked; a refusal answers ErrorResponse + ReadyForQuery
 *   itself and nothing reaches the target.
 * - Parse is checked; a refused Parse (and everything after it up to Sync, as a server skips
 *   after an error) is dropped. Bind of a statement that was refused is refused. FunctionCall
 *   (fastpath, which bypasses SQL) is always refused.
 * - Answers the gateway makes up must reach the client in order with the target's answers, so
 *   every message that ends a cycle (Query, Sync, FunctionCall) queues one entry: the target's
 *   ReadyForQuery pops "upstream" entries, and "synthetic" entries at the head go out as soon as
 *   everything before them has.
 */
import type { ResultMasker } from '../mask/result-masker.ts';
import type { PgFrame } from '../pg/framer.ts';
import { errorResponse, readyForQuery } from '../pg/messages.ts';
import { FrameQueue, ownedFrame } from './frame-queue.ts';

export interface StatementVerdict {
  allowed: boolean;
  /** Shown to the client when refused. */
  message: string;
  /** Parse trees of the statements (for masking lineage). */
  statements?: Array<Record<string, unknown>>;
  /**
   * Not allowed yet, but may be once someone approves it: the flow holds the statement (and all
   * that follows it) and hands this ticket to `onHold`; `release()` ends the wait.
   */
  hold?: HoldTicket;
}

/** Whatever the checker needs to ask for an approval; opaque to the flow. */
export type HoldTicket = object;

interface Held {
  frame: PgFrame;
  protocol: 'simple' | 'extended';
  /** Prepared statement name (extended). */
  name: string;
  statements: Array<Record<string, unknown>> | undefined;
  /** Client messages that arrived after the held one, in order. */
  rest: FrameQueue;
}

/** Client bytes kept while a statement waits for approval (psql sends nothing more; pipelines might). */
const MAX_HELD_BYTES = 1 << 20;

export interface StatementChecker {
  /**
   * A simple Query's text or an extended Parse's text; decides synchronously (policy, masking's
   * own refusals, the audit record) before anything is forwarded.
   */
  check(sql: string, protocol: 'simple' | 'extended'): StatementVerdict;
}

type Entry = { kind: 'upstream'; injectBefore?: Uint8Array } | { kind: 'synthetic'; bytes: Uint8Array };

const T = (c: string) => c.charCodeAt(0);
const Q = T('Q');
const P = T('P');
const B = T('B');
const S = T('S');
const F = T('F');
const C = T('C');
const Z = T('Z');

export const INSUFFICIENT_PRIVILEGE = '42501';

export class StatementFlow {
  readonly #queue: Entry[] = [];
  /**
   * Prepared statement name → may it be bound? `true`: checked and allowed; `'once'`: approved
   * for one execution (the next Bind must be approved again); `false` or absent: refused. A
   * name the flow never saw Parsed (e.g. from SQL PREPARE) is refused too: fail closed.
   */
  readonly #statements = new Map<string, boolean | 'once'>();
  #batchError: string | undefined;
  #batchForwarded = false;
  /** The target's last transaction status, for ReadyForQuery we make up. */
  #txStatus: 'I' | 'T' | 'E' = 'I';
  #held: Held | undefined;

  constructor(
    private readonly checker: StatementChecker,
    private readonly toUpstream: (bytes: Uint8Array) => void,
    private readonly toClient: (bytes: Uint8Array) => void,
    private readonly masker?: ResultMasker,
    private readonly onHold?: (ticket: HoldTicket) => void,
  ) {}

  /** A statement is waiting for approval. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  #check(sql: string | undefined, protocol: 'simple' | 'extended'): StatementVerdict {
    return sql === undefined ? NOT_UTF8 : this.checker.check(sql, protocol);
  }

  /** Client messages after startup; returns the messages to forward, in order. */
  client(frames: PgFrame[]): PgFrame[] {
    const forward: PgFrame[] = [];
    for (const f of frames) {
      if (this.#held) {
        this.#held.rest.push(f);
        continue;
      }
      switch (f.type) {
        case Q: {
          const v = this.#check(cstring(f.body, 0).text, 'simple');
          if (v.hold && this.onHold) {
            this.#flushForward(forward);
            this.#hold(f, 'simple', '', v);
          } else if (v.allowed) {
            forward.push(f);
            this.masker?.client(f, v.statements);
            this.#queue.push({ kind: 'upstream' });
          } else {
            this.#flushForward(forward);
            this.#synthetic(v.message);
          }
          break;
        }
        case P: {
          if (this.#batchError !== undefined) break;
          const name = cstring(f.body, 0);
          const sql = cstring(f.body, name.end).text;
          const v = this.#check(sql, 'extended');
          if (v.hold && this.onHold) {
            this.#flushForward(forward);
            this.#hold(f, 'extended', name.text ?? '', v);
            break;
          }
          this.#statements.set(name.text ?? '', v.allowed);
          if (v.allowed) this.#forwardInBatch(forward, f, v.statements);
          else this.#batchError = v.message;
          break;
        }
        case B: {
          if (this.#batchError !== undefined) break;
          const portal = cstring(f.body, 0);
          const stmt = cstring(f.body, portal.end).text;
          const may = stmt === undefined ? false : (this.#statements.get(stmt) ?? false);
          if (may === false) {
            this.#batchError =
              stmt !== undefined && this.#statements.has(stmt)
                ? `statement refused: prepared statement "${stmt}" was refused by policy, or the approval it had is used up`
                : `statement refused: prepared statement "${stmt ?? ''}" was not checked by Postern; prepare it with Parse`;
          } else {
            // An approval covers one execution: this Bind uses it.
            if (may === 'once') this.#statements.set(stmt!, false);
            this.#forwardInBatch(forward, f);
          }
          break;
        }
        case C: {
          if (this.#batchError !== undefined) break;
          // Close of a statement forgets its verdict.
          if (f.body[0] === T('S')) this.#statements.delete(cstring(f.body, 1).text ?? '');
          this.#forwardInBatch(forward, f);
          break;
        }
        case S: {
          if (this.#batchError === undefined) {
            forward.push(f);
            this.masker?.client(f);
            this.#queue.push({ kind: 'upstream' });
          } else if (this.#batchForwarded) {
            // Part of the batch already went; the target answers it, then our error goes
            // before its ReadyForQuery.
            forward.push(f);
            this.masker?.client(f);
            this.#queue.push({ kind: 'upstream', injectBefore: refusal(this.#batchError) });
          } else {
            this.#flushForward(forward);
            this.#synthetic(this.#batchError);
          }
          this.#batchError = undefined;
          this.#batchForwarded = false;
          break;
        }
        case F:
          this.#flushForward(forward);
          this.#synthetic('function calls over the fastpath protocol are not allowed through Postern');
          break;
        default:
          // Bind/Describe/Execute/Flush follow the batch; COPY data, Terminate pass.
          if (this.#batchError !== undefined && isBatchMessage(f.type)) break;
          if (isBatchMessage(f.type)) this.#forwardInBatch(forward, f);
          else {
            forward.push(f);
            this.masker?.client(f);
          }
      }
    }
    return forward;
  }

  /**
   * Ends the wait of the held statement: approved, it goes to the target (once) and the client
   * gets the target's answer; refused, the client gets `message` as an ErrorResponse. Then the
   * messages that queued behind it are processed; returns those to forward.
   */
  release(approved: boolean, message: string): PgFrame[] {
    const h = this.#held;
    if (!h) return [];
    this.#held = undefined;
    const forward: PgFrame[] = [];
    if (h.protocol === 'simple') {
      if (approved) {
        forward.push(h.frame);
        this.masker?.client(h.frame, h.statements);
        this.#queue.push({ kind: 'upstream' });
      } else this.#synthetic(message);
    } else {
      this.#statements.set(h.name, approved ? 'once' : false);
      if (approved) this.#forwardInBatch(forward, h.frame, h.statements);
      else this.#batchError = message;
    }
    // What follows must reach the target after the released statement.
    this.#flushForward(forward);
    return this.client(h.rest.take());
  }

  /**
   * Every prepared statement must be Parsed (and checked) again before it runs: what allowed it
   * may be gone (an access grant ended).
   */
  forgetStatements(): void {
    for (const name of this.#statements.keys()) this.#statements.set(name, false);
  }

  #hold(frame: PgFrame, protocol: Held['protocol'], name: string, v: StatementVerdict): void {
    this.#held = {
      frame: ownedFrame(frame), // the chunk it came in is not ours to keep
      protocol,
      name,
      statements: v.statements,
      rest: new FrameQueue(MAX_HELD_BYTES, 'too much data sent while a statement waits for approval'),
    };
    this.onHold!(v.hold!);
  }

  /**
   * Target messages after startup, in order; returns what goes to the client, with made-up
   * answers inserted where they belong.
   */
  upstream(frames: PgFrame[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const f of frames) {
      if (f.type === Z) {
        this.#txStatus = (String.fromCharCode(f.body[0] ?? T('I')) as 'I' | 'T' | 'E') ?? 'I';
        const head = this.#queue[0];
        if (head?.kind === 'upstream') {
          this.#queue.shift();
          if (head.injectBefore) out.push(head.injectBefore);
        }
        out.push(this.masker?.active ? this.masker.upstream(f) : f.raw);
        while (this.#queue[0]?.kind === 'synthetic') {
          out.push((this.#queue.shift() as { bytes: Uint8Array }).bytes);
        }
        continue;
      }
      out.push(this.masker?.active ? this.masker.upstream(f) : f.raw);
    }
    return out;
  }

  /** Forwarded messages so far must leave before a synthetic answer is considered. */
  #flushForward(forward: PgFrame[]): void {
    if (forward.length === 0) return;
    let n = 0;
    for (const f of forward) n += f.raw.byteLength;
    const bytes = new Uint8Array(n);
    let o = 0;
    for (const f of forward) {
      bytes.set(f.raw, o);
      o += f.raw.byteLength;
    }
    forward.length = 0;
    this.toUpstream(bytes);
  }

  #forwardInBatch(forward: PgFrame[], f: PgFrame, statements?: Array<Record<string, unknown>>): void {
    forward.push(f);
    this.masker?.client(f, statements);
    this.#batchForwarded = true;
  }

  #synthetic(message: string): void {
    const bytes = concat2(refusal(message), readyForQuery(this.#txStatus));
    if (this.#queue.length === 0) this.toClient(bytes);
    else this.#queue.push({ kind: 'synthetic', bytes });
  }
}

function refusal(message: string): Uint8Array {
  return errorResponse({ severity: 'ERROR', code: INSUFFICIENT_PRIVILEGE, message });
}

/** Extended-protocol messages that a server skips after an error until Sync. */
function isBatchMessage(type: number): boolean {
  return type === T('B') || type === T('D') || type === T('E') || type === T('H') || type === C || type === P;
}

/** A NUL-terminated string; text is undefined when it is not valid UTF-8. */
function cstring(body: Uint8Array, from: number): { text: string | undefined; end: number } {
  let end = body.indexOf(0, from);
  if (end < 0) end = body.length;
  let text: string | undefined;
  try {
    text = decoder.decode(body.subarray(from, end));
  } catch {
    text = undefined;
  }
  return { text, end: end + 1 };
}

// fatal: the server (client_encoding UTF8) rejects what this rejects; nothing is read two ways.
// ignoreBOM: a leading U+FEFF is part of the text the server reads (TextDecoder drops it by
// default), so it stays in what is checked.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const NOT_UTF8: StatementVerdict = { allowed: false, message: 'statement refused: it is not valid UTF-8' };

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
