import { describe, expect, it } from 'vitest';
import { decodeProtobuf } from './proto.ts';

// A protobuf writer for the test: length-delimited fields only, which is all these messages use.
const enc = new TextEncoder();
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
const field = (n: number, v: Uint8Array | string): number[] => {
  const b = typeof v === 'string' ? enc.encode(v) : v;
  return [...varint((n << 3) | 2), ...varint(b.length), ...b];
};
const msg = (...fields: number[][]) => new Uint8Array(fields.flat());
const entry = (n: number, k: string, v: string | Uint8Array) => field(n, msg(field(1, k), field(2, v)));
const envelope = (apiVersion: string, kind: string, raw: Uint8Array) =>
  new Uint8Array([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...field(1, msg(field(1, apiVersion), field(2, kind))),
    ...field(2, raw),
  ]);

describe('protobuf request bodies', () => {
  it('decodes a Secret as kubectl create secret sends it (empty strings dropped)', () => {
    const meta = msg(field(1, 'creds'), field(2, ''), field(3, 'default'), entry(11, 'app', 'x'));
    const secret = msg(
      field(1, meta),
      entry(2, 'password', enc.encode('hunter2')),
      field(3, ''),
      entry(4, 'note', 'clear'),
    );
    expect(decodeProtobuf(envelope('v1', 'Secret', secret))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: 'default', labels: { app: 'x' } },
      data: { password: Buffer.from('hunter2').toString('base64') },
      stringData: { note: 'clear' },
    });
  });

  it('decodes a ConfigMap and a Namespace', () => {
    expect(
      decodeProtobuf(envelope('v1', 'ConfigMap', msg(field(1, msg(field(1, 'c'))), entry(2, 'k', 'v')))),
    ).toMatchObject({
      kind: 'ConfigMap',
      data: { k: 'v' },
    });
    expect(decodeProtobuf(envelope('v1', 'Namespace', msg(field(1, msg(field(1, 'prod'))))))).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'prod' },
    });
  });

  it('refuses types it cannot decode, a missing prefix and truncated messages with 415', () => {
    const code415 = expect.objectContaining({ code: 415 });
    expect(() => decodeProtobuf(envelope('apps/v1', 'Deployment', msg()))).toThrow(code415);
    expect(() => decodeProtobuf(enc.encode('{"kind":"Secret"}'))).toThrow(code415);
    const whole = envelope('v1', 'Secret', msg(field(1, msg(field(1, 'x')))));
    expect(() => decodeProtobuf(whole.subarray(0, whole.length - 2))).toThrow(code415);
  });
});
