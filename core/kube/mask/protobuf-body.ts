/**
 * A Kubernetes protobuf request body read into the JSON object it stands for, for the audit
 * trail only (request-audit.ts): `kubectl create secret|configmap|namespace` sends its body as
 * `application/vnd.kubernetes.protobuf` (client-go's typed clients) and does not retry in JSON
 * after a 415, so the gateway forwards it as sent and records what it reads of it here.
 *
 * Format (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the magic `k8s\0`, then a
 * `runtime.Unknown` {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 * contentType = 4} whose `raw` is the object's own message. Field numbers from
 * staging/src/k8s.io/api/core/v1/generated.proto (Secret: metadata 1, data 2 map<string, bytes>,
 * type 3, stringData 4, immutable 5; ConfigMap: metadata 1, data 2, binaryData 3, immutable 4;
 * Namespace: metadata 1, spec 2 {finalizers 1}) and apimachinery meta/v1 (ObjectMeta: name 1,
 * generateName 2, namespace 3, labels 11, annotations 12, finalizers 14). Every object's field 1
 * is its ObjectMeta, so any kind gives its metadata; only these three give more.
 *
 * The bytes are the client's, so hostile: a key or length varint longer than 5 bytes (past
 * uint32), a length past the end, wire types 3/4 (groups, which Kubernetes never writes), 6 or 7,
 * field number 0, strings that are not UTF-8, an encoded or non-protobuf `raw` — each refuses the
 * whole body (ProtobufError), never a guess. Nesting is fixed by the schema read (envelope →
 * object → metadata → map entry), so there is no recursion to bound; every byte is read once
 * per level it belongs to. Repeated occurrences of a message field merge and later scalars win,
 * as the Go decoder reads them.
 */

export class ProtobufError extends Error {}

/** The object a protobuf body holds, as JSON would write it (what was read of it). */
export interface DecodedBody {
  object: Record<string, unknown>;
  /** Whether all of its fields were read (Secret, ConfigMap, Namespace) or only its metadata. */
  complete: boolean;
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Value = { wire: 0; v: number } | { wire: 2; v: Uint8Array } | { wire: 1 | 5 };
type Field = { n: number } & Value;

/** Reads the top-level fields of one message (wire format, protobuf encoding guide). */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  /** A varint of at most 5 bytes, as uint32 (keys and lengths); `wide` allows 10 (int64, bool). */
  const varint = (wide: boolean): number => {
    let r = 0;
    let high = false;
    for (let k = 0; ; k++) {
      if (i >= b.length) throw new ProtobufError('a protobuf message cut short');
      const x = b[i++]!;
      if (k < 5) r += (x & 0x7f) * 2 ** (7 * k);
      else if (x & 0x7f) high = true;
      // The 10th byte of a 64-bit varint holds one bit (Go's decoder: "integer overflow").
      if (k === 9 && x > 1) throw new ProtobufError('a protobuf varint past 64 bits');
      if (!(x & 0x80)) {
        if (!wide && (k > 4 || r > 0xffffffff)) throw new ProtobufError('a protobuf varint past 32 bits');
        return high ? Number.MAX_SAFE_INTEGER : r;
      }
      if (k >= (wide ? 9 : 4)) throw new ProtobufError('a protobuf varint too long');
    }
  };
  while (i < b.length) {
    const key = varint(false);
    const n = Math.floor(key / 8);
    const wire = key % 8;
    if (n === 0) throw new ProtobufError('a protobuf field numbered 0');
    if (wire === 0) out.push({ n, wire, v: varint(true) });
    else if (wire === 2) {
      const len = varint(false);
      if (len > b.length - i) throw new ProtobufError('a protobuf length past the end of the body');
      out.push({ n, wire, v: b.subarray(i, i + len) });
      i += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (len > b.length - i) throw new ProtobufError('a protobuf message cut short');
      out.push({ n, wire });
      i += len;
    } else throw new ProtobufError(`protobuf wire type ${wire}`);
  }
  return out;
}

/** Field `n`'s length-delimited occurrences (a field of another wire type is refused). */
function bytesOf(fs: Field[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fs) {
    if (f.n !== n) continue;
    if (f.wire !== 2) throw new ProtobufError(`protobuf field ${n} of the wrong type`);
    out.push(f.v);
  }
  return out;
}

/** A string field: the last occurrence wins (proto3 scalars); undefined when absent. */
function stringOf(fs: Field[], n: number): string | undefined {
  const all = bytesOf(fs, n);
  return all.length === 0 ? undefined : text(all[all.length - 1]!);
}

function text(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new ProtobufError('a protobuf string that is not UTF-8');
  }
}

/** A message field read as the merge of its occurrences (the Go decoder merges them). */
function messageOf(fs: Field[], n: number): Field[] | undefined {
  const all = bytesOf(fs, n);
  return all.length === 0 ? undefined : all.flatMap((b) => fields(b));
}

function boolOf(fs: Field[], n: number): boolean | undefined {
  let v: boolean | undefined;
  for (const f of fs) {
    if (f.n !== n) continue;
    if (f.wire !== 0) throw new ProtobufError(`protobuf field ${n} of the wrong type`);
    v = f.v !== 0;
  }
  return v;
}

/** A map field (repeated entries {key = 1, value = 2}); a later key replaces an earlier one. */
function mapOf(fs: Field[], n: number, value: (b: Uint8Array) => string): Record<string, string> | undefined {
  const entries = bytesOf(fs, n);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(e);
    const key = stringOf(kv, 1) ?? '';
    const v = bytesOf(kv, 2);
    Object.defineProperty(out, key, {
      value: value(v.length ? v[v.length - 1]! : new Uint8Array()),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function metadataOf(fs: Field[] | undefined): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (!fs) return m;
  // JSON's omitempty: empty strings are left out, as the server would write the object.
  const put = (key: string, v: string | undefined) => {
    if (v) m[key] = v;
  };
  put('name', stringOf(fs, 1));
  put('generateName', stringOf(fs, 2));
  put('namespace', stringOf(fs, 3));
  const labels = mapOf(fs, 11, text);
  const annotations = mapOf(fs, 12, text);
  const finalizers = bytesOf(fs, 14).map(text);
  if (labels) m['labels'] = labels;
  if (annotations) m['annotations'] = annotations;
  if (finalizers.length) m['finalizers'] = finalizers;
  return m;
}

/** Whether `body` starts with the Kubernetes protobuf magic. */
export function isKubeProtobuf(body: Uint8Array): boolean {
  return body.length >= 4 && MAGIC.every((b, i) => body[i] === b);
}

/** Reads a protobuf request body (see the header). Throws ProtobufError. */
export function decodeProtobufBody(body: Uint8Array): DecodedBody {
  if (!isKubeProtobuf(body)) throw new ProtobufError('a body without the Kubernetes protobuf magic');
  const unknown = fields(body.subarray(4));
  const typeMeta = messageOf(unknown, 1) ?? [];
  if (stringOf(unknown, 3)) throw new ProtobufError('an encoded protobuf body (contentEncoding)');
  const contentType = stringOf(unknown, 4);
  if (contentType && !contentType.includes('protobuf'))
    throw new ProtobufError('a protobuf envelope holding another content type');
  const apiVersion = stringOf(typeMeta, 1) ?? '';
  const kind = stringOf(typeMeta, 2) ?? '';
  const raw = messageOf(unknown, 2) ?? [];
  const o: Record<string, unknown> = { apiVersion, kind, metadata: metadataOf(messageOf(raw, 1)) };
  const b64 = (b: Uint8Array) => btoa(Array.from(b, (c) => String.fromCharCode(c)).join(''));
  switch (`${apiVersion}/${kind}`) {
    case 'v1/Secret': {
      const data = mapOf(raw, 2, b64);
      const type = stringOf(raw, 3);
      const stringData = mapOf(raw, 4, text);
      const immutable = boolOf(raw, 5);
      if (data) o['data'] = data;
      if (type) o['type'] = type;
      if (stringData) o['stringData'] = stringData;
      if (immutable !== undefined) o['immutable'] = immutable;
      return { object: o, complete: true };
    }
    case 'v1/ConfigMap': {
      const data = mapOf(raw, 2, text);
      const binaryData = mapOf(raw, 3, b64);
      const immutable = boolOf(raw, 4);
      if (data) o['data'] = data;
      if (binaryData) o['binaryData'] = binaryData;
      if (immutable !== undefined) o['immutable'] = immutable;
      return { object: o, complete: true };
    }
    case 'v1/Namespace': {
      const spec = messageOf(raw, 2);
      if (spec) o['spec'] = { finalizers: bytesOf(spec, 1).map(text) };
      return { object: o, complete: true };
    }
    default:
      return { object: o, complete: false };
  }
}
