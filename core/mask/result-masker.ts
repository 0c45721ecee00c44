/**
 * Masking on the wire: rewrites what reaches the client from the target, given the result it
 * belongs to (which statement, which columns): DataRow (text and binary), COPY OUT data,
 * ErrorResponse/NoticeResponse fields (a unique violation's DETAIL echoes the value) and
 * NotificationResponse payloads. Which result a message belongs to is the session's business
 * (core/pg-session/replies.ts follows both query protocols); this file only decides and writes.
 *
 * Rows are only ever masked against columns the gateway knows the server is returning: the
 * RowDescription of the result (the session asks for one with a Describe when the client did
 * not), or for COPY the statement's own column list. Without them, rows of a statement that
 * touches masked data end the session rather than being masked by a guess.
 */
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';
import { Backend } from '../pg/message-types.ts';
import { int16At } from '../pg/reader.ts';
import { fieldList, notification, parseFieldList, parseNotification, type RowField } from '../pg/rows.ts';
import {
  analyzeStatement,
  fieldStrategies,
  type CatalogSnapshot,
  type MaskedColumns,
  type ResultPlan,
  type StatementMasking,
} from './lineage.ts';
import type { MaskCounts, Strategy, ValueMasker } from './value-masker.ts';
import { columnOps, passesUnread, RowRewriter, type ColumnOps } from './row-rewrite.ts';
import { hideKeyValues, maskingRefusal } from './wire-helpers.ts';
import { withheldMessage } from './withheld-message.ts';
import { maskedSink } from './sinks.ts';

export type { ResultPlan };
type Stmt = Record<string, unknown>;

/** One result being returned: its plan, its columns, and what each column needs (cached). */
export interface ResultCtx {
  plan: ResultPlan | undefined;
  /** The result's RowDescription (absent for COPY). */
  fields?: RowField[];
  /** Wire format codes of the columns (§55.7: none = all text, one = all alike). */
  formats: number[];
  /**
   * The fields may describe other rows (a FETCH or EXECUTE portal described before its name was
   * defined again): a column the server attributes to a table masks, never clears (lineage.ts).
   */
  originsUnsure?: boolean;
  /** COPY OUT: columns line up with the statement's own targets. */
  copy?: boolean;
  /** Worked out at the first row. */
  ops?: ColumnOps;
  strategies?: Array<Strategy | null>;
}

export class ResultMasker {
  readonly counts: MaskCounts = {};
  /** One analysis per parse tree, for its rows' plan and its sinks alike. */
  readonly #analyses = new WeakMap<object, StatementMasking>();
  readonly #rows = new RowRewriter();
  #catalog: CatalogSnapshot;
  /** Rows of a cursor or statement the gateway never saw defined: masked by RowDescription alone. */
  readonly unknownPlan: ResultPlan | undefined;

  constructor(
    private readonly masked: MaskedColumns,
    catalog: CatalogSnapshot,
    private readonly values: ValueMasker,
  ) {
    this.#catalog = catalog;
    // Nothing known of its columns: each field is masked by what the server says it is.
    this.unknownPlan =
      masked.size > 0
        ? { cols: [{ name: undefined, taint: 'redact', width: 'unknown' }], tainted: true }
        : undefined;
  }

  /** The catalog snapshot read at session start (before any client statement). */
  useCatalog(catalog: CatalogSnapshot): void {
    this.#catalog = catalog;
  }

  /** Masking has work to do in this session at all (else the session skips it entirely). */
  get active(): boolean {
    return this.masked.size > 0 || this.values.detecting;
  }

  /** Rows must come with their RowDescription (some columns are masked by rule). */
  get needsColumns(): boolean {
    return this.masked.size > 0;
  }

  /**
   * The plan of one statement's rows (a DECLARE's or PREPARE's: its query's), cached per parse
   * tree. FETCH and EXECUTE name rows planned elsewhere: the session resolves those.
   */
  plan(stmt: Stmt): ResultPlan | undefined {
    return this.#analysis(stmt).plan;
  }

  #analysis(stmt: Stmt): StatementMasking {
    let a = this.#analyses.get(stmt);
    if (!a) this.#analyses.set(stmt, (a = analyzeStatement(stmt, this.masked, this.#catalog)));
    return a;
  }

  /**
   * Why a checked statement is refused by masking, if it is: its rows could not be masked
   * column by column (COPY), or it would carry masked values somewhere rows do not go (sinks.ts).
   */
  refusal(statements: Stmt[]): string | undefined {
    if (this.masked.size === 0) return undefined;
    const copy = maskingRefusal(
      statements,
      statements.map((s) => this.plan(s)),
    );
    if (copy) return copy;
    for (const s of statements) {
      const why = this.plan(s)?.unfollowable;
      if (why) return `statement refused: ${why}`;
    }
    for (const s of statements) {
      const why = maskedSink(s, this.masked, this.#analysis(s).sink);
      if (why) return `statement refused: ${why} (masked columns: see docs/masking.md)`;
    }
    return undefined;
  }

  /** A DataRow of the result `ctx`. */
  row(ctx: ResultCtx, f: PgFrame): Uint8Array {
    const raw = f.raw;
    const n = raw.byteLength >= 7 ? int16At(raw, 5) : 0;
    let ops = ctx.ops;
    if (!ops || ops.ops.length !== n) ops = ctx.ops = this.#ops(ctx, n);
    return this.#rows.rewrite(raw, ops, this.values, this.counts);
  }

  /**
   * Rows of `ctx` pass unread (no column masked or scanned: binary values of non-text types, as
   * a bytea in binary format): a big one may stream through without being assembled. Known only
   * with the result's description; without it a row is read.
   */
  passesUnread(ctx: ResultCtx): boolean {
    const n = ctx.fields?.length;
    if (n === undefined) return false;
    let ops = ctx.ops;
    if (!ops || ops.ops.length !== n) ops = ctx.ops = this.#ops(ctx, n);
    return passesUnread(ops);
  }

  /** A COPY OUT data line of the result `ctx`. */
  copyData(ctx: ResultCtx, f: PgFrame): Uint8Array {
    // COPY has no RowDescription: the statement's own columns say which field is which (a plan
    // with a column of unknown width was refused before it ran).
    // When no field is masked, positions do not matter (only the detectors run), and the lines
    // may be csv or binary, whose fields are not tab-separated (wire-helpers.ts allows those).
    if (ctx.strategies === undefined) {
      const strategies = ctx.plan
        ? ctx.plan.cols.map((c) => (c.width === 'unknown' ? 'redact' : c.taint))
        : [];
      ctx.strategies = strategies.some((s) => s !== null) ? strategies : [];
    }
    return this.#rows.rewriteCopy(f.raw, ctx.strategies, this.values, this.counts);
  }

  #ops(ctx: ResultCtx, n: number): ColumnOps {
    if (!ctx.fields) {
      // No description: fine for detectors alone, never for a plan that masks columns.
      if (ctx.plan && this.needsColumns) throw noColumns();
      return columnOps(n, undefined, ctx.formats, undefined, false);
    }
    if (ctx.fields.length !== n) throw noColumns();
    const strategies = ctx.plan
      ? fieldStrategies(ctx.plan, ctx.fields, this.#catalog, !ctx.originsUnsure)
      : new Array<null>(n).fill(null);
    return columnOps(n, strategies, ctx.formats, ctx.fields, false);
  }

  /**
   * An ErrorResponse or NoticeResponse, raised while a statement with plan `plan` ran (if any).
   * A statement that reads masked data may have any of it in its messages (a failed cast quotes
   * the value it could not convert; a function may RAISE it): those messages keep only what
   * cannot carry data (scrubFields), and their text is the gateway's.
   */
  fields(f: PgFrame, plan?: ResultPlan): Uint8Array {
    const type = f.type === Backend.ErrorResponse ? Backend.ErrorResponse : Backend.NoticeResponse;
    const fields = parseFieldList(f.body);
    if (plan && this.needsColumns) {
      const scrubbed = scrubFields(fields);
      if (scrubbed) {
        this.counts['message'] = (this.counts['message'] ?? 0) + 1;
        return fieldList(type, scrubbed);
      }
    }
    let changed = false;
    const out = fields.map(([code, value]): [string, string] => {
      let v = value;
      // "Key (email)=(ada@example.com) already exists." names a masked column: hide the value.
      if (code === 'D' && this.masked.size > 0) v = hideKeyValues(v, this.masked);
      v = this.values.detectedText(v, this.counts);
      if (v !== value) changed = true;
      return [code, v];
    });
    return changed ? fieldList(type, out) : f.raw;
  }

  /** A NotificationResponse. */
  notification(f: PgFrame): Uint8Array {
    const n = parseNotification(f.body);
    const payload = this.values.detectedText(n.payload, this.counts);
    return payload === n.payload ? f.raw : notification(n.pid, n.channel, payload);
  }
}

/** Fields that may carry data: replaced. Codes per protocol §55.8. */
const DATA_FIELDS = new Set(['D', 'H', 'W', 'q']);

/**
 * The fields of a message raised by a statement that read masked data: severity, SQLSTATE,
 * positions and object names kept; detail, hint, context and internal query replaced; the message
 * written by the gateway (withheld-message.ts). Returns undefined when nothing needs replacing.
 */
export function scrubFields(fields: Array<[string, string]>): Array<[string, string]> | undefined {
  const sqlstate = fields.find(([c]) => c === 'C')?.[1] ?? '';
  let changed = false;
  const out = fields.map(([code, value]): [string, string] => {
    if (code === 'M') {
      changed = true;
      return [code, withheldMessage(sqlstate)];
    }
    if (DATA_FIELDS.has(code)) {
      changed = true;
      return [code, '[REDACTED]'];
    }
    return [code, value];
  });
  return changed ? out : undefined;
}

function noColumns(): PosternError {
  return new PosternError(
    'PROTOCOL_VIOLATION',
    'rows arrived whose columns the gateway cannot tell apart (masking will not guess)',
  );
}
