import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../crypto/hmac-sync.ts';
import { ValueMasker } from '../../mask/value-masker.ts';
import { readRequest, type KubeResourceRequest } from '../request.ts';
import { decodeProtobufBody, ProtobufError } from './protobuf-body.ts';
import { auditBody } from './request-audit.ts';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
const r = (m: string, p: string) => readRequest(m, p, '') as KubeResourceRequest;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

// Bodies real kubectl 1.32.4 sent (captured from the stand-in API server, test/kube/), for
//   kubectl create secret generic db --from-literal=password=hunter2-sekret --from-literal='card=4111 1111 1111 1111'
//   kubectl create configmap cfg --from-literal=contact=alice@example.com --from-literal=plain=ok
//   kubectl create namespace team-a
const SECRET =
  '6b3873000a0c0a0276311206536563726574124f0a120a02646212001a0022002a00320038004200121b0a0463617264121334313131203131313120313131312031313131121a0a0870617373776f7264120e68756e746572322d73656b7265741a001a002200';
const CONFIGMAP =
  '6b3873000a0f0a0276311209436f6e6669674d617012400a130a0363666712001a0022002a00320038004200121c0a07636f6e746163741211616c696365406578616d706c652e636f6d120b0a05706c61696e12026f6b1a002200';
const NAMESPACE =
  '6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a0032003800420012001a020a001a002200';

/** A protobuf writer for hostile cases: a field `n` of wire type 2 holding `body`. */
function ld(n: number, body: Uint8Array | number[] | string): number[] {
  const b = typeof body === 'string' ? [...new TextEncoder().encode(body)] : [...body];
  return [...varint(n * 8 + 2), ...varint(b.length), ...b];
}
function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
const envelope = (kind: string, raw: number[], extra: number[] = []) =>
  Uint8Array.from([0x6b, 0x38, 0x73, 0, ...ld(1, [...ld(1, 'v1'), ...ld(2, kind)]), ...ld(2, raw), ...extra]);

describe('protobuf request bodies (what kubectl create sends)', () => {
  it("reads kubectl's Secret, ConfigMap and Namespace bodies into the objects they are", () => {
    expect(decodeProtobufBody(hex(SECRET))).toEqual({
      complete: true,
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        data: { card: btoa('4111 1111 1111 1111'), password: btoa('hunter2-sekret') },
      },
    });
    expect(decodeProtobufBody(hex(CONFIGMAP)).object).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' },
      data: { contact: 'alice@example.com', plain: 'ok' },
    });
    expect(decodeProtobufBody(hex(NAMESPACE)).object).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
      spec: { finalizers: [] },
    });
  });

  it('keeps no Secret value of `kubectl create secret` in the audit form, and ConfigMap values go through the detectors', () => {
    const secret = auditBody(r('POST', '/api/v1/namespaces/default/secrets'), PROTOBUF, hex(SECRET));
    expect(secret).toMatchObject({ decoded: 'protobuf' });
    const text = (secret as { body: string }).body;
    expect(JSON.parse(text)).toMatchObject({ kind: 'Secret', metadata: { name: 'db' } });
    expect(Object.keys(JSON.parse(text).data)).toEqual(['card', 'password']);
    for (const clear of ['hunter2', btoa('hunter2-sekret'), '4111', btoa('4111 1111 1111 1111')])
      expect(text).not.toContain(clear);

    const values = new ValueMasker({ email: 'redact' }, new HmacSha256(new TextEncoder().encode('k')));
    const cm = auditBody(
      r('POST', '/api/v1/namespaces/default/configmaps'),
      PROTOBUF,
      hex(CONFIGMAP),
      values,
    );
    const cmText = (cm as { body: string }).body;
    expect(cmText).not.toContain('alice@example.com');
    expect(JSON.parse(cmText).data.plain).toBe('ok');
  });

  it('records other kinds by their metadata only, and says so', () => {
    const raw = [...ld(1, [...ld(1, 'web'), ...ld(3, 'prod')]), ...ld(2, ld(1, 'anything'))];
    const out = auditBody(
      r('POST', '/apis/apps/v1/namespaces/prod/deployments'),
      PROTOBUF,
      envelope('Deployment', raw),
    );
    expect(out).toEqual({
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'prod' },
      }),
      decoded: 'protobuf, metadata only',
    });
  });

  it('records by size only a body on secrets that is not wholly a v1 Secret, or that does not read', () => {
    const path = r('POST', '/api/v1/namespaces/default/secrets');
    const asConfigMap = envelope('ConfigMap', [
      ...ld(1, ld(1, 'x')),
      ...ld(2, [...ld(1, 'k'), ...ld(2, 'sekret')]),
    ]);
    expect(auditBody(path, PROTOBUF, asConfigMap)).toEqual({
      omitted: 'a protobuf body on secrets that is not a v1 Secret',
      bytes: asConfigMap.length,
    });
    const cut = hex(SECRET).subarray(0, 60);
    expect(auditBody(path, PROTOBUF, cut)).toMatchObject({ bytes: 60 });
    expect(JSON.stringify(auditBody(path, PROTOBUF, cut))).not.toContain('hunter2');
  });

  it('refuses hostile encodings rather than guess: long or overflowing varints, lengths past the end, groups, field 0, bad UTF-8, encoded raw', () => {
    const bad: Array<[string, Uint8Array]> = [
      ['no magic', Uint8Array.from([1, 2, 3, 4])],
      ['a key varint past 32 bits', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0xff, 0xff, 0xff, 0xff, 0x7f])],
      ['a varint too long', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x08, ...Array(10).fill(0xff), 1])],
      [
        'a 64-bit varint overflowing',
        Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x08, ...Array(9).fill(0xff), 2]),
      ],
      ['a length past the end', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x12, 0x7f, 1, 2])],
      ['a length of 2^32-1', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['a group', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x0b, 0x0c])],
      ['wire type 7', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x0f])],
      ['field 0', Uint8Array.from([0x6b, 0x38, 0x73, 0, 0x02, 0x00])],
      ['a name that is not UTF-8', envelope('Secret', ld(1, ld(1, [0xc3, 0x28])))],
      ['a gzip-encoded raw', envelope('Secret', [], ld(3, 'gzip'))],
      ['raw holding JSON', envelope('Secret', [], ld(4, 'application/json'))],
      ['a map entry of the wrong wire type', envelope('Secret', [0x10, 0x01])],
    ];
    for (const [what, body] of bad) expect(() => decodeProtobufBody(body), what).toThrow(ProtobufError);
  });

  it('reads repeated fields as the Go decoder does (later scalars and map keys win, messages merge), `__proto__` as a key', () => {
    const raw = [
      ...ld(1, ld(1, 'first')),
      ...ld(1, ld(3, 'ns')),
      ...ld(1, ld(1, 'second')),
      ...ld(2, [...ld(1, '__proto__'), ...ld(2, 'a')]),
      ...ld(2, [...ld(1, 'k'), ...ld(2, 'old')]),
      ...ld(2, [...ld(1, 'k'), ...ld(2, 'new')]),
    ];
    const { object } = decodeProtobufBody(envelope('ConfigMap', raw));
    expect(object['metadata']).toEqual({ name: 'second', namespace: 'ns' });
    const data = object['data'] as Record<string, string>;
    expect(Object.keys(data)).toEqual(['__proto__', 'k']);
    expect(data['k']).toBe('new');
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  });
});
