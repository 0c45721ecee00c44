/**
 * Masking on the wire: follows both query protocols closely enough to know, for every message
 * the target sends, which statement and which result columns it belongs to, and rewrites what
 * reaches the client: DataRow (text and binary), COPY OUT data, ErrorResponse/NoticeResponse
 * fields (a unique violation's DETAIL echoes the value) and NotificationResponse payloads.
 *
 * The tracker mirrors the server's own bookkeeping (protocol §55.2): each forwarded client
 * message expects its answer in order. If an answer ever does not fit, masking could be applied
 * to the wrong columns, so the session is ended instead (fail closed).
 */
import { PosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';
import {
  fieldList,
  notification,
  parseBind,
  parseCopyOutResponse,
  parseExecute,
  parseFieldList,
  parseNotification,
  parseParse,
  parseRowDescription,
  parseTargetName,
  type RowField,
} from '../pg/rows.ts';
import {
  fieldStrategies,
  planStatement,
  type CatalogSnapshot,
  type MaskedColumns,
  type ResultPlan,
} from './lineage.ts';
import type { MaskCounts, Strategy, ValueMasker } from './value-masker.ts';
import { columnOps, RowRewriter, type ColumnOps } from './row-rewrite.ts';
import { hideKeyValues } from './wire-helpers.ts';

type Stmt = Record<string, unknown>;

/** What a result's columns need: a strategy (or null) and the wire format of each. */
interface Columns {
  strategies: Array<Strategy | null>;
  fields?: RowField[];
  formats: number[];
  /** What each DataRow column needs, worked out from the above at the first row. */
  ops?: ColumnOps;
}

interface Prepared {
  plan: ResultPlan | undefined;
  fields?: RowField[];
}

type Pending =
  | { k: 'query'; plans: Array<ResultPlan | undefined>; i: number; columns?: Columns }
  | { k: 'parse' | 'bind' | 'close' | 'sync' }
  | { k: 'describe'; target: 'S' | 'P'; name: string }
  | { k: 'execute'; portal: string };

const T = (c: string) => c.charCodeAt(0);
const DATA_ROW = 0x44; // 'D'
export class ResultMasker {
  readonly counts: MaskCounts = {};
  readonly #pending: Pending[] = [];
  readonly #statements = new Map<string, Prepared>();
  // `columns`: what #resultColumns worked out for the portal's rows, kept for the next row.
  readonly #portals = new Map<string, Prepared & { formats: number[]; columns?: Columns }>();
  readonly #plans = new WeakMap<object, Array<ResultPlan | undefined>>();
  readonly #cursors = new Map<string, ResultPlan | undefined>();
  readonly #sqlPrepared = new Map<string, ResultPlan | undefined>();
  readonly #rows = new RowRewriter();

  #catalog: CatalogSnapshot;

  constructor(
    private readonly masked: MaskedColumns,
    catalog: CatalogSnapshot,
    private readonly values: ValueMasker,
  ) {
    this.#catalog = catalog;
  }

  /** The catalog snapshot read at session start (before any client statement). */
  useCatalog(catalog: CatalogSnapshot): void {
    this.#catalog = catalog;
  }

  /** Masking has work to do in this session at all (else the session skips it entirely). */
  get active(): boolean {
    return this.masked.size > 0 || this.values.detecting;
  }

  /**
   * The plan of each statement of a checked SQL text (cached per verdict). Cursors and SQL-level
   * prepared statements return their rows later (FETCH, EXECUTE): those take the plan of the
   * DECLARE / PREPARE that named them.
   */
  plansFor(statements: Stmt[] | undefined): Array<ResultPlan | undefined> {
    if (!statements) return [];
    const hit = this.#plans.get(statements);
    if (hit) return hit;
    let stateful = false;
    const plans = statements.map((s) => {
      const kind = Object.keys(s)[0] ?? '';
      const body = (s[kind] ?? {}) as Record<string, unknown>;
      switch (kind) {
        case 'DeclareCursorStmt':
        case 'PrepareStmt': {
          stateful = true;
          const plan = planStatement(s, this.masked, this.#catalog);
          const name = String(body[kind === 'PrepareStmt' ? 'name' : 'portalname'] ?? '');
          (kind === 'PrepareStmt' ? this.#sqlPrepared : this.#cursors).set(name, plan);
          return undefined;
        }
        case 'FetchStmt':
          stateful = true;
          return this.#cursors.get(String(body['portalname'] ?? '')) ?? this.#unknownSource();
        case 'ExecuteStmt':
          stateful = true;
          return this.#sqlPrepared.get(String(body['name'] ?? '')) ?? this.#unknownSource();
        default:
          return planStatement(s, this.masked, this.#catalog);
      }
    });
    if (!stateful) this.#plans.set(statements, plans);
    return plans;
  }

  /** Rows from a cursor or statement we never saw declared: every column masked. */
  #unknownSource(): ResultPlan | undefined {
    if (this.masked.size === 0) return undefined;
    return { targets: ['star'], tainted: true, names: new Map() };
  }

  /** A client message that was forwarded (with the parse trees of Query/Parse). */
  client(f: PgFrame, statements?: Stmt[]): void {
    if (!this.active) return;
    switch (f.type) {
      case T('Q'):
        this.#pending.push({ k: 'query', plans: this.plansFor(statements), i: 0 });
        return;
      case T('P'):
        this.#statements.set(parseParse(f.body), { plan: this.plansFor(statements)[0] });
        this.#pending.push({ k: 'parse' });
        return;
      case T('B'): {
        const b = parseBind(f.body);
        const stmt = this.#statements.get(b.statement);
        this.#portals.set(b.portal, {
          plan: stmt?.plan,
          ...(stmt?.fields ? { fields: stmt.fields } : {}),
          formats: b.resultFormats,
        });
        this.#pending.push({ k: 'bind' });
        return;
      }
      case T('D'): {
        const d = parseTargetName(f.body);
        this.#pending.push({ k: 'describe', target: d.kind === T('S') ? 'S' : 'P', name: d.name });
        return;
      }
      case T('E'):
        this.#pending.push({ k: 'execute', portal: parseExecute(f.body) });
        return;
      case T('C'): {
        const c = parseTargetName(f.body);
        (c.kind === T('S') ? this.#statements : this.#portals).delete(c.name);
        this.#pending.push({ k: 'close' });
        return;
      }
      case T('S'):
        this.#pending.push({ k: 'sync' });
        return;
      default:
        return; // Flush, COPY data, Terminate: no answer of their own
    }
  }

  /** A target message; returns what the client gets instead (or the same bytes). */
  upstream(f: PgFrame): Uint8Array {
    const head = this.#pending[0];
    // DataRow first: nearly every message of a result is one, and the switch below calls T()
    // for each case it passes.
    if (f.type === DATA_ROW) return this.#dataRow(head, f);
    switch (f.type) {
      case T('1'):
        return this.#done(head, 'parse', f);
      case T('2'):
        return this.#done(head, 'bind', f);
      case T('3'):
        return this.#done(head, 'close', f);
      case T('t'):
        if (head?.k !== 'describe') throw desync('ParameterDescription');
        return f.raw;
      case T('n'):
        return this.#done(head, 'describe', f);
      case T('T'): {
        const fields = parseRowDescription(f.body);
        if (head?.k === 'query') {
          head.columns = this.#columns(
            head.plans[head.i],
            fields,
            fields.map((x) => x.format),
          );
        } else if (head?.k === 'describe') {
          if (head.target === 'S') {
            const stmt = this.#statements.get(head.name);
            if (stmt) stmt.fields = fields;
          } else {
            const portal = this.#portals.get(head.name);
            if (portal) {
              portal.fields = fields;
              portal.columns = undefined; // worked out again with the fields
            }
          }
          this.#pending.shift();
        } else throw desync('RowDescription');
        return f.raw;
      }
      case T('D'):
        return this.#dataRow(head, f);
      case T('C'):
      case T('I'):
        if (head?.k === 'query') {
          head.i++;
          head.columns = undefined;
          return f.raw;
        }
        return this.#done(head, 'execute', f);
      case T('s'):
        return this.#done(head, 'execute', f);
      case T('H'): {
        const copy = parseCopyOutResponse(f.body);
        const cols = this.#resultColumns(head);
        if (head?.k === 'query')
          head.columns = { strategies: cols?.strategies ?? [], formats: copy.columnFormats };
        return f.raw;
      }
      case T('d'):
        return this.#copyData(head, f);
      case T('E'): {
        // The server skips to Sync after an extended-protocol error; so do we.
        if (head && head.k !== 'query') {
          while (this.#pending.length > 0 && this.#pending[0]!.k !== 'sync') this.#pending.shift();
        }
        return this.#fields('E', f);
      }
      case T('N'):
        return this.#fields('N', f);
      case T('A'):
        return this.#notification(f);
      case T('Z'):
        while (this.#pending.length > 0) {
          const p = this.#pending.shift()!;
          if (p.k === 'query' || p.k === 'sync') break;
        }
        return f.raw;
      default:
        return f.raw; // ParameterStatus, CopyDone, CopyInResponse...
    }
  }

  #done(head: Pending | undefined, k: Pending['k'], f: PgFrame): Uint8Array {
    if (head?.k !== k) throw desync(`${String.fromCharCode(f.type)} while expecting ${head?.k ?? 'nothing'}`);
    this.#pending.shift();
    return f.raw;
  }

  #columns(plan: ResultPlan | undefined, fields: RowField[] | undefined, formats: number[]): Columns {
    const n = fields?.length ?? 0;
    const strategies =
      plan && fields ? fieldStrategies(plan, fields, this.#catalog) : new Array<null>(n).fill(null);
    return { strategies, ...(fields ? { fields } : {}), formats };
  }

  #resultColumns(head: Pending | undefined): Columns | undefined {
    if (head?.k === 'query') {
      if (head.columns) return head.columns;
      const plan = head.plans[head.i];
      // COPY has no RowDescription: explicit targets line up by position (a `*` was refused).
      return plan
        ? { strategies: plan.targets.map((t) => (t === 'star' ? 'redact' : t)), formats: [] }
        : undefined;
    }
    if (head?.k === 'execute') {
      const portal = this.#portals.get(head.portal);
      if (!portal) return undefined;
      if (portal.columns) return portal.columns;
      if (!portal.fields) {
        // Never described: positions of masked targets are still known when there is no `*`.
        const t = portal.plan?.targets ?? [];
        return (portal.columns = {
          strategies: t.map((x) => (x === 'star' ? 'redact' : x)),
          formats: portal.formats,
        });
      }
      return (portal.columns = this.#columns(portal.plan, portal.fields, portal.formats));
    }
    return undefined;
  }

  #dataRow(head: Pending | undefined, f: PgFrame): Uint8Array {
    if (head?.k !== 'query' && head?.k !== 'execute') throw desync('DataRow');
    const cols = head.k === 'query' ? head.columns : this.#resultColumns(head);
    const raw = f.raw;
    const n = raw.byteLength >= 7 ? ((raw[5]! << 24) >> 16) | raw[6]! : 0;
    let ops = cols?.ops;
    if (!ops || ops.ops.length !== n) {
      const plan = head.k === 'query' ? head.plans[head.i] : this.#portals.get(head.portal)?.plan;
      ops = columnOps(n, cols?.strategies, cols?.formats ?? [], cols?.fields, !cols && plan !== undefined);
      if (cols) cols.ops = ops;
    }
    return this.#rows.rewrite(raw, ops, this.values, this.counts);
  }

  #copyData(head: Pending | undefined, f: PgFrame): Uint8Array {
    const cols = this.#resultColumns(head);
    return this.#rows.rewriteCopy(f.raw, cols?.strategies, this.values, this.counts);
  }

  #fields(type: 'E' | 'N', f: PgFrame): Uint8Array {
    const fields = parseFieldList(f.body);
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

  #notification(f: PgFrame): Uint8Array {
    const n = parseNotification(f.body);
    const payload = this.values.detectedText(n.payload, this.counts);
    return payload === n.payload ? f.raw : notification(n.pid, n.channel, payload);
  }
}

function desync(what: string): PosternError {
  return new PosternError('PROTOCOL_VIOLATION', `unexpected ${what} from the target (masking lost track)`);
}
