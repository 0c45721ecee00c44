/**
 * Property: whatever bytes a client or a target sends, a fully armed session (policy checker,
 * masker with column rules and detectors) never throws; it either carries on or ends with a
 * protocol error reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { EMPTY_CATALOG } from '../mask/lineage.ts';
import { ResultMasker } from '../mask/result-masker.ts';
import { ValueMasker } from '../mask/value-masker.ts';
import type { CloseReason } from './close-reason.ts';
import { PgSession } from './session.ts';

const enc = new TextEncoder();
function msg(type: string, body: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}
const int32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
};
const cat = (...p: Uint8Array[]) => {
  const out = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of p) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};
const cstr = (s: string) => cat(enc.encode(s), new Uint8Array([0]));
const startupBody = cat(int32(196608), cstr('user'), cstr('x'), new Uint8Array([0]));
const startup = cat(int32(4 + startupBody.length), startupBody);

const PROTOCOL_ENDS = new Set([
  'client-protocol',
  'upstream-protocol',
  'client-terminate',
  'client-closed',
  'upstream-closed',
  // The target reported that it reads SQL differently now (a ParameterStatus it may send).
  'reading-changed',
]);
const reading = cat(
  msg('S', cat(cstr('client_encoding'), cstr('UTF8'))),
  msg('S', cat(cstr('standard_conforming_strings'), cstr('on'))),
);

async function armedSession() {
  const ended: CloseReason[] = [];
  const masker = new ResultMasker(
    new Map([['customers', new Map([['email', 'partial' as const]])]]),
    EMPTY_CATALOG,
    new ValueMasker({ email: 'redact', card: 'partial', phone: 'token' }, new HmacSha256(enc.encode('k'))),
  );
  const session = new PgSession(
    {
      upstreamUser: 'app',
      upstreamDatabase: 'db',
      gatewayKey: { processId: 1, secretKey: 2 },
      maxMessageBytes: 1 << 16,
      checker: { check: (sql) => ({ allowed: !sql.includes('DROP'), message: 'no' }) },
      masker,
    },
    { toClient: () => {}, toUpstream: () => {}, end: (r) => ended.push(r), cancelRequested: () => {} },
  );
  session.clientData(startup);
  session.upstreamOpen('pw');
  session.upstreamData(cat(msg('R', int32(0)), reading, msg('Z', enc.encode('I'))));
  await new Promise((r) => setTimeout(r, 0)); // authentication steps are async (SCRAM)
  expect(session.phase).toBe('proxy');
  return { session, ended };
}

// Mostly well-formed messages with hostile contents, plus raw noise.
const messageLike = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .tuple(fc.constantFrom(...'QPBEDSCHXdcfF'.split('')), fc.uint8Array({ maxLength: 100 }))
    .map(([t, body]) => msg(t, body)),
  fc
    .tuple(fc.constantFrom(...'TDCZEANdHIs123tn'.split('')), fc.uint8Array({ maxLength: 100 }))
    .map(([t, body]) => msg(t, body)),
);

describe('hostile bytes', () => {
  it('never throws on arbitrary client input; ends only with a protocol reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageLike, { maxLength: 12 }), async (chunks) => {
        const { session, ended } = await armedSession();
        for (const c of chunks) session.clientData(c);
        for (const r of ended) expect(PROTOCOL_ENDS.has(r.kind), r.kind).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on arbitrary target input after a query; ends only with a protocol reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageLike, { maxLength: 12 }), async (chunks) => {
        const { session, ended } = await armedSession();
        session.clientData(msg('Q', cstr('SELECT email FROM customers')));
        for (const c of chunks) session.upstreamData(c);
        for (const r of ended) expect(PROTOCOL_ENDS.has(r.kind), r.kind).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
