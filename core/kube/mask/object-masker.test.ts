import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../crypto/hmac-sync.ts';
import { ValueMasker } from '../../mask/value-masker.ts';
import { maskJsonBody } from './json-body.ts';
import { LAST_APPLIED, MAX_DEPTH, type KubeMaskOptions } from './object-masker.ts';
import { SECRET_MARKER_B64 } from './secret-values.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const values = new ValueMasker({ email: 'redact', card: 'redact', jwt: 'redact' }, new HmacSha256(enc('k')));
const masked: KubeMaskOptions = { secrets: true, values };
const clear: KubeMaskOptions = { secrets: false, values: undefined };

const PASSWORD = btoa('hunter2-hunter2');
const secret = (extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'db', namespace: 'prod', ...extra },
  type: 'Opaque',
  data: { password: PASSWORD, user: btoa('app') },
});

/** The body masked, as text; fails the test when refused. */
function mask(body: unknown, options = masked, hint?: string): string {
  const out = maskJsonBody(enc(JSON.stringify(body)), options, hint);
  if (!out.ok) throw new Error(out.why);
  return dec(out.body);
}

const lastApplied = (obj: unknown) => ({ annotations: { [LAST_APPLIED]: JSON.stringify(obj) } });

describe('Secret values in every response shape', () => {
  const clearSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    data: { password: PASSWORD },
    stringData: { token: 'clear-token' },
  };
  const shapes: Array<[string, unknown, string | undefined]> = [
    ['get', { apiVersion: 'v1', kind: 'Secret', ...secret() }, 'Secret'],
    [
      'list (items without kind)',
      { apiVersion: 'v1', kind: 'SecretList', metadata: {}, items: [secret(), secret()] },
      'Secret',
    ],
    [
      'v1 List mixing kinds',
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { kind: 'ConfigMap', data: {} },
          { kind: 'Secret', ...secret() },
        ],
      },
      undefined,
    ],
    [
      'Table with included objects',
      {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        columnDefinitions: [{ name: 'Name' }, { name: 'Type' }, { name: 'Data' }, { name: 'Age' }],
        rows: [
          { cells: ['db', 'Opaque', 2, '1d'], object: { kind: 'Secret', apiVersion: 'v1', ...secret() } },
        ],
      },
      'Secret',
    ],
    [
      'watch event',
      { type: 'MODIFIED', object: { kind: 'Secret', apiVersion: 'v1', ...secret() } },
      'Secret',
    ],
    [
      'last-applied of a Secret',
      { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'db', ...lastApplied(clearSecret) }, data: {} },
      'Secret',
    ],
    [
      'last-applied in metadata-only rows (includeObject=Metadata)',
      {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        columnDefinitions: [{ name: 'Name' }],
        rows: [
          {
            cells: ['db'],
            object: {
              kind: 'PartialObjectMetadata',
              apiVersion: 'meta.k8s.io/v1',
              metadata: lastApplied(clearSecret),
            },
          },
        ],
      },
      'Secret',
    ],
    [
      'a watch of Table events (kubectl get secrets -w)',
      {
        type: 'ADDED',
        object: {
          kind: 'Table',
          apiVersion: 'meta.k8s.io/v1',
          columnDefinitions: [{ name: 'Name' }, { name: 'Type' }],
          rows: [
            {
              cells: ['db', 'Opaque'],
              object: {
                kind: 'PartialObjectMetadata',
                apiVersion: 'meta.k8s.io/v1',
                metadata: lastApplied(clearSecret),
              },
            },
          ],
        },
      },
      'Secret',
    ],
    [
      'last-applied without a kind in a PartialObjectMetadataList',
      {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        items: [{ metadata: lastApplied({ data: { password: PASSWORD } }) }],
      },
      'Secret',
    ],
  ];

  it.each(shapes)('%s: no value reaches a caller without unmask', (_shape, body, hint) => {
    const out = mask(body, masked, hint);
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain('clear-token');
    expect(out).not.toContain(btoa('app'));
  });

  it.each(shapes)('%s: an unmask caller reads it unchanged, byte for byte', (_shape, body, hint) => {
    expect(mask(body, clear, hint)).toBe(JSON.stringify(body));
  });

  it('keeps keys and base64: the marker decodes to [REDACTED]', () => {
    const out = JSON.parse(mask({ kind: 'Secret', apiVersion: 'v1', ...secret() }));
    expect(out.data).toEqual({ password: SECRET_MARKER_B64, user: SECRET_MARKER_B64 });
    expect(atob(out.data.password)).toBe('[REDACTED]');
    expect(out.metadata).toEqual({ name: 'db', namespace: 'prod' });
  });

  it('rewrites a last-applied annotation as the masked object, and drops one that does not parse', () => {
    const out = JSON.parse(
      mask({
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: lastApplied({ kind: 'Secret', data: { password: PASSWORD } }),
      }),
    );
    expect(JSON.parse(out.metadata.annotations[LAST_APPLIED])).toEqual({
      kind: 'Secret',
      data: { password: SECRET_MARKER_B64 },
    });
    const broken = JSON.parse(
      mask({
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { annotations: { [LAST_APPLIED]: `{"data":{"password":"${PASSWORD}"` } },
      }),
    );
    expect(broken.metadata.annotations).toEqual({});
  });

  it('masks a secret column a server added to the table', () => {
    const out = JSON.parse(
      mask(
        {
          kind: 'Table',
          apiVersion: 'meta.k8s.io/v1',
          columnDefinitions: [{ name: 'Name' }, { name: 'Password' }],
          rows: [{ cells: ['db', 'hunter2'] }],
        },
        masked,
        'Secret',
      ),
    );
    expect(out.rows[0].cells).toEqual(['db', '[REDACTED]']);
  });

  it('refuses a response to a request on secrets it cannot tell holds no Secret', () => {
    for (const body of [
      { kind: 'SecretV2', data: { password: PASSWORD } },
      [1, 2],
      { data: { password: PASSWORD } },
    ]) {
      expect(maskJsonBody(enc(JSON.stringify(body)), masked, 'Secret').ok, JSON.stringify(body)).toBe(false);
    }
    expect(maskJsonBody(enc('{"kind":"Status","code":404}'), masked, 'Secret').ok).toBe(true);
  });
});

describe('ConfigMap and env values go through the connection detectors', () => {
  it('masks ConfigMap data and binaryData values the detectors find', () => {
    const out = JSON.parse(
      mask({
        kind: 'ConfigMap',
        apiVersion: 'v1',
        data: { owner: 'ada@example.com', replicas: '3' },
        binaryData: { card: btoa('card 4111111111111111') },
      }),
    );
    expect(out.data).toEqual({ owner: '[REDACTED:email]', replicas: '3' });
    expect(atob(out.binaryData.card)).toBe('card [REDACTED:card]');
  });

  it('masks literal env values of pods and every pod template, not valueFrom', () => {
    const container = {
      name: 'app',
      env: [
        { name: 'ADMIN', value: 'ada@example.com' },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } },
      ],
    };
    const pod = {
      kind: 'Pod',
      apiVersion: 'v1',
      spec: { containers: [container], initContainers: [container] },
    };
    const deploy = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      spec: { template: { spec: { containers: [container] } } },
    };
    const cron = {
      kind: 'CronJob',
      apiVersion: 'batch/v1',
      spec: { jobTemplate: { spec: { template: { spec: { containers: [container] } } } } },
    };
    const template = {
      kind: 'PodTemplate',
      apiVersion: 'v1',
      template: { spec: { containers: [container] } },
    };
    for (const obj of [pod, deploy, cron, template, { kind: 'List', apiVersion: 'v1', items: [deploy] }]) {
      const out = mask(obj);
      expect(out, obj.kind).not.toContain('ada@example.com');
      expect(out, obj.kind).toContain('[REDACTED:email]');
      expect(out).toContain('secretKeyRef');
    }
  });

  it('passes a body with nothing to mask as the very bytes it came in', () => {
    const raw = enc(
      '{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a"},"spec":{"containers":[]}}],  "x": 1.50}',
    );
    const out = maskJsonBody(raw, masked, 'Pod');
    expect(out.ok && out.body).toBe(raw);
  });
});

describe('bounds', () => {
  it('refuses a body over the bound, one that is not JSON, and nesting past MAX_DEPTH', () => {
    expect(
      maskJsonBody(enc(JSON.stringify({ kind: 'Secret', ...secret() })), masked, 'Secret', 50),
    ).toMatchObject({ ok: false });
    expect(maskJsonBody(enc('{"kind":"Secret"'), masked, 'Secret')).toMatchObject({ ok: false });
    let deep: Record<string, unknown> = { kind: 'Secret', data: { p: PASSWORD } };
    for (let i = 0; i <= MAX_DEPTH; i++) deep = { kind: 'List', apiVersion: 'v1', items: [deep] };
    expect(maskJsonBody(enc(JSON.stringify(deep)), masked, undefined)).toMatchObject({ ok: false });
  });

  it('refuses to rewrite a body whose integers JSON.parse would round', () => {
    const body = `{"kind":"List","apiVersion":"v1","items":[{"kind":"Widget","spec":{"n":12345678901234567890}},{"kind":"Secret","data":{"p":"${PASSWORD}"}}]}`;
    expect(maskJsonBody(enc(body), masked, undefined)).toMatchObject({ ok: false });
    // Nothing to mask: passed as it came, big integer included.
    const plain = '{"kind":"Widget","spec":{"n":12345678901234567890}}';
    const out = maskJsonBody(enc(plain), masked, undefined);
    expect(out.ok && dec(out.body)).toBe(plain);
  });
});
