/**
 * Request bodies in Kubernetes protobuf, for the types `kubectl create secret|configmap|namespace`
 * send that way (client-go's typed clients write `application/vnd.kubernetes.protobuf` and kubectl
 * does not fall back to JSON on 415). Format: k8s.io/apimachinery/pkg/runtime/serializer/protobuf
 * — the magic "k8s\0", then a runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2,
 * contentEncoding=3, contentType=4} whose `raw` is the object's message; field numbers from
 * staging/src/k8s.io/api/core/v1/generated.proto and apimachinery meta/v1/generated.proto.
 * Responses stay JSON (the stand-in never writes protobuf).
 */
import type { JsonObject, KubeObject } from './resources.ts';
import { KubeError } from './status.ts';

type Field = { n: number; wire: number; v: bigint | Uint8Array };

const unsupported = (what: string) =>
  new KubeError(
    415,
    'UnsupportedMediaType',
    `the stand-in cannot decode protobuf for ${what}; send application/json`,
  );

/** Protobuf wire format: varint keys, wire types 0 (varint), 1 (64-bit), 2 (length-delimited), 5 (32-bit). */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let r = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= b.length || shift > 63n) throw unsupported('a truncated message');
      const x = b[i++]!;
      r |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) return r;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const n = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ n, wire, v: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > b.length) throw unsupported('a truncated message');
      out.push({ n, wire, v: b.subarray(i, i + len) });
      i += len;
    } else if (wire === 1 || wire === 5) i += wire === 1 ? 8 : 4;
    else throw unsupported(`wire type ${wire}`);
  }
  return out;
}

const dec = new TextDecoder('utf-8', { fatal: true });
const str = (f: Field) => dec.decode(f.v as Uint8Array);
const bytes = (f: Field) => f.v as Uint8Array;
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

function map<T>(fs: Field[], n: number, value: (f: Field) => T): Record<string, T> | undefined {
  const entries = fs.filter((f) => f.n === n);
  if (!entries.length) return undefined;
  const out: Record<string, T> = {};
  for (const e of entries) {
    const kv = fields(bytes(e));
    const k = kv.find((f) => f.n === 1);
    const v = kv.find((f) => f.n === 2);
    out[k ? str(k) : ''] = v ? value(v) : value({ n: 2, wire: 2, v: new Uint8Array() });
  }
  return out;
}

function meta(b: Uint8Array): JsonObject {
  const fs = fields(b);
  const m: JsonObject = {};
  // gogo-protobuf writes every string field, empty or not; JSON's omitempty drops the empty ones.
  for (const f of fs) {
    if (f.wire === 2 && !bytes(f).length) continue;
    if (f.n === 1) m.name = str(f);
    else if (f.n === 2) m.generateName = str(f);
    else if (f.n === 3) m.namespace = str(f);
    else if (f.n === 6) m.resourceVersion = str(f);
    else if (f.n === 14) ((m.finalizers ??= []) as string[]).push(str(f));
  }
  const labels = map(fs, 11, str);
  const annotations = map(fs, 12, str);
  if (labels) m.labels = labels;
  if (annotations) m.annotations = annotations;
  return m;
}

const bool = (fs: Field[], n: number) => {
  const f = fs.find((x) => x.n === n);
  return f ? f.v !== 0n : undefined;
};

/** Decodes a protobuf body into the JSON object it stands for. */
export function decodeProtobuf(body: Uint8Array): KubeObject {
  if (body.length < 4 || body[0] !== 0x6b || body[1] !== 0x38 || body[2] !== 0x73 || body[3] !== 0)
    throw unsupported('a body without the k8s protobuf prefix');
  const unknown = fields(body.subarray(4));
  const tm = unknown.find((f) => f.n === 1);
  const raw = unknown.find((f) => f.n === 2);
  if (!tm || !raw) throw unsupported('an envelope without type or raw');
  const typeMeta = fields(bytes(tm));
  const apiVersion = str(typeMeta.find((f) => f.n === 1) ?? { n: 1, wire: 2, v: new Uint8Array() });
  const kind = str(typeMeta.find((f) => f.n === 2) ?? { n: 2, wire: 2, v: new Uint8Array() });
  const fs = fields(bytes(raw));
  const md = fs.find((f) => f.n === 1);
  const o: KubeObject = { apiVersion, kind, metadata: md ? meta(bytes(md)) : {} };
  const key = `${apiVersion}/${kind}`;
  if (key === 'v1/Secret') {
    const data = map(fs, 2, (f) => b64(bytes(f)));
    const stringData = map(fs, 4, str);
    const type = fs.find((f) => f.n === 3);
    if (data) o.data = data;
    if (stringData) o.stringData = stringData;
    if (type && str(type)) o.type = str(type);
    if (bool(fs, 5) !== undefined) o.immutable = bool(fs, 5);
  } else if (key === 'v1/ConfigMap') {
    const data = map(fs, 2, str);
    const binaryData = map(fs, 3, (f) => b64(bytes(f)));
    if (data) o.data = data;
    if (binaryData) o.binaryData = binaryData;
    if (bool(fs, 4) !== undefined) o.immutable = bool(fs, 4);
  } else if (key === 'v1/Namespace') {
    const spec = fs.find((f) => f.n === 2);
    if (spec)
      o.spec = {
        finalizers: fields(bytes(spec))
          .filter((f) => f.n === 1)
          .map(str),
      };
  } else throw unsupported(key);
  return o;
}
