/**
 * DataRow masking in one pass over the target's bytes (protocol §55.7 DataRow: Int16 column
 * count, then per column an Int32 length, -1 for NULL, and that many bytes). Values are read in
 * place, without a view per column; a row with nothing to mask is returned as it came, and
 * otherwise the unchanged stretches and the masks are appended to a shared chunk (ByteSink) and
 * the row is a view of it: no allocation per row or per value.
 */
import { PosternError } from '../errors.ts';
import { int16At, int32At } from '../pg/reader.ts';
import type { RowField } from '../pg/rows.ts';
import { binaryTextOffset, findBinary, NO_TEXT } from './binary-values.ts';
import { ByteSink } from './byte-sink.ts';
import type { Detection } from './detectors.ts';
import { countDetection, type MaskCounts, type Strategy, type ValueMasker } from './value-masker.ts';

// What happens to a column's values, decided once per result (not per value).
const DETECT = 0; // text (or json): detectors scan it
const PASS = 1; // a type that holds no text a detector reads (binary-values.ts NO_TEXT)
const DETECT_NUMBER = 2; // int8/numeric text (and their arrays): a detection makes it NULL (no mask fits the type)
const DETECT_JSONB = 3; // binary jsonb: the JSON text after its version byte, masked in place
const DETECT_BINARY = 4; // another binary value: decoded and scanned (binary-values.ts), NULL on a detection
const WHOLE = 5; // masked column, text-like: the strategy's mask (WHOLE and above: masked columns)
const WHOLE_JSON = 6; // masked json/jsonb: a JSON string holding the mask
const WHOLE_NULL = 7; // masked column of another type: NULL

// Types whose binary send format is their text (UTF-8): text, varchar, bpchar, name, unknown.
const TEXTLIKE = new Set([25, 1043, 1042, 19, 705]);
const JSON_OID = 114;
// int8, numeric, int8[], numeric[]: a mask written into their text would not parse as the type.
const NUMERIC = new Set([20, 1700, 1016, 1231]);
const JSONB = 3802;

/** Per column: the op, its strategy, and the wire format and type behind the op. */
export interface ColumnOps {
  ops: Uint8Array;
  strategies: Array<Strategy | null>;
  formats: number[];
  types: Array<number | undefined>;
}

/**
 * The ops of an `n`-column row. `strategies`, `formats` and `fields` describe the result (any may
 * be shorter than the row); `redactAll` when rows come without a description from a masked plan
 * with a `*`: nothing says which column is which.
 */
export function columnOps(
  n: number,
  strategies: Array<Strategy | null> | undefined,
  formats: number[],
  fields: RowField[] | undefined,
  redactAll: boolean,
): ColumnOps {
  const out: ColumnOps = { ops: new Uint8Array(n), strategies: [], formats: [], types: [] };
  for (let i = 0; i < n; i++) {
    const strategy = redactAll ? 'redact' : (strategies?.[i] ?? null);
    const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
    const type = fields?.[i]?.typeOid;
    out.strategies.push(strategy);
    out.formats.push(format);
    out.types.push(type);
    const textlike = type === undefined || TEXTLIKE.has(type);
    if (strategy) {
      out.ops[i] = textlike ? WHOLE : type === JSON_OID || type === JSONB ? WHOLE_JSON : WHOLE_NULL;
    } else if (textlike || NO_TEXT.has(type)) {
      out.ops[i] = textlike ? DETECT : PASS;
    } else if (format === 0) {
      // Any other type's text (arrays, records, xml, citext, enums...) is text detectors read.
      out.ops[i] = NUMERIC.has(type) ? DETECT_NUMBER : DETECT;
    } else {
      const offset = binaryTextOffset(type);
      out.ops[i] = offset === 0 ? DETECT : offset === 1 ? DETECT_JSONB : DETECT_BINARY;
    }
  }
  return out;
}

/** Rows with these ops go out exactly as they came: nothing in them is read (big rows stream). */
export function passesUnread(cols: ColumnOps): boolean {
  return cols.ops.every((op) => op === PASS);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Masks DataRows into the session's ByteSink: each masked row is a view that later rows never
 * overwrite, so callers may queue it (statement-flow holds output while it waits) or send it as is.
 */
export class RowRewriter {
  readonly #sink = new ByteSink();

  /** The row `raw` (type byte and length included) masked; `raw` itself when nothing changed. */
  rewrite(raw: Uint8Array, cols: ColumnOps, values: ValueMasker, counts: MaskCounts): Uint8Array {
    // The length read once: byteLength of a view is not a plain field load in V8.
    const size = raw.byteLength;
    if (size < 7) throw short();
    const n = int16At(raw, 5);
    const ops = cols.ops;
    const sink = this.#sink;
    let copied = 0; // raw[0, copied) is in the sink (once something changed)
    let changed = false;
    let whole = 0;
    let pos = 7;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > size) throw short();
      const len = int32At(raw, pos);
      const start = pos + 4;
      if (len < 0) {
        pos = start;
        continue;
      }
      const end = start + len;
      if (end > size) throw short();
      const op = i < ops.length ? ops[i]! : DETECT;
      let found: Detection[] | undefined;
      if (op >= WHOLE) whole++;
      else if (
        op === PASS ||
        (found =
          op < DETECT_JSONB
            ? values.find(raw, start, end)
            : findBinary(values, raw, start, end, cols.types[i]!)) === undefined
      ) {
        pos = end;
        continue;
      }
      // This value changes: the bytes before it go out as they came, then its new length + bytes.
      if (!changed) {
        changed = true;
        sink.discard();
      }
      sink.put(raw, copied, pos);
      copied = end;
      // Relative to the row: writing the value may move the row to a new chunk.
      const at = sink.reserve(4) - sink.start;
      if (op === DETECT_NUMBER || op === WHOLE_NULL || op === DETECT_BINARY || found?.length === 0) {
        sink.set32(sink.start + at, -1);
        if (found) for (const d of found) countDetection(counts, d.kind);
      } else {
        if (op === DETECT) values.writeMasked(raw, start, end, found!, sink, counts);
        else if (op === DETECT_JSONB) {
          sink.put(raw, start, start + 1); // the version byte
          values.writeMasked(raw, start + 1, end, found!, sink, counts);
        } else if (op === WHOLE) values.wholeInto(raw, start, end, cols.strategies[i]!, sink);
        else this.#wholeJson(raw.subarray(start, end), cols.strategies[i]!, cols, i, values);
        sink.set32(sink.start + at, sink.len - sink.start - at - 4);
      }
      pos = end;
    }
    if (whole > 0) counts['column'] = (counts['column'] ?? 0) + whole;
    if (!changed) return raw;
    sink.put(raw, copied, size);
    sink.set32(sink.start + 1, sink.len - sink.start - 1);
    return sink.take();
  }

  /**
   * A COPY OUT text line ('d' message: fields split by tabs, `\N` for NULL, a final newline)
   * masked the same way: a column's strategy on its field, else the detectors; `raw` itself when
   * nothing changed. A rewritten line always ends in a newline. With strategies, a line must have
   * exactly one field per strategy (COPY text writes a tab inside a value as `\t`, so each raw tab
   * separates two fields): a table whose columns changed since the catalog snapshot would slide
   * values onto other columns' strategies, so such a line ends the result instead.
   */
  rewriteCopy(
    raw: Uint8Array,
    strategies: Array<Strategy | null> | undefined,
    values: ValueMasker,
    counts: MaskCounts,
  ): Uint8Array {
    const sink = this.#sink;
    let end = raw.byteLength;
    if (end > 5 && raw[end - 1] === 0x0a) end--;
    let copied = 0; // raw[0, copied) is in the sink (once something changed)
    let changed = false;
    let from = 5;
    let i = 0;
    for (let p = 5; p <= end; p++) {
      if (p < end && raw[p] !== 0x09) continue;
      const start = from;
      from = p + 1;
      const strategy = strategies?.[i++] ?? null;
      if (p - start === 2 && raw[start] === 0x5c && raw[start + 1] === 0x4e) continue; // \N
      let found: Detection[] | undefined;
      if (!strategy && (found = values.find(raw, start, p)) === undefined) continue;
      if (!changed) {
        changed = true;
        sink.discard();
      }
      sink.put(raw, copied, start);
      if (strategy) values.wholeInto(raw, start, p, strategy, sink);
      else values.writeMasked(raw, start, p, found!, sink, counts);
      copied = p;
    }
    if (strategies && strategies.length > 0 && i !== strategies.length)
      throw fieldCount(i, strategies.length);
    if (!changed) return raw;
    sink.put(raw, copied, end);
    const nl = sink.reserve(1);
    sink.buf[nl] = 0x0a;
    sink.set32(sink.start + 1, sink.len - sink.start - 1);
    return sink.take();
  }

  /** Keeps a json/jsonb column valid JSON for drivers that parse it: a string holding the mask. */
  #wholeJson(v: Uint8Array, strategy: Strategy, cols: ColumnOps, i: number, values: ValueMasker): void {
    const text = enc.encode(JSON.stringify(dec.decode(values.whole(v, strategy))));
    const sink = this.#sink;
    if (cols.formats[i] === 1 && cols.types[i] === JSONB) {
      const at = sink.reserve(1);
      sink.buf[at] = 1; // jsonb version
    }
    sink.put(text, 0, text.byteLength);
  }
}

function fieldCount(got: number, expected: number): PosternError {
  return new PosternError(
    'PROTOCOL_VIOLATION',
    `COPY data with ${got} fields where masking knows ${expected} columns (did the table's columns change since the session began?)`,
  );
}

function short(): PosternError {
  return new PosternError('PROTOCOL_VIOLATION', 'message shorter than its contents');
}
