import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatchMasker } from './watch-masker.ts';
import { SECRET_MARKER_B64 } from './secret-values.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array[]) => new TextDecoder().decode(concat(b));
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const PASSWORD = btoa('hunter2-hunter2');
const event = (type: string, name: string, extra = '') =>
  `{"type":"${type}","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"${name}","annotations":{"note":"a \\"quoted}\\" brace ✓${extra}"}},"data":{"password":"${PASSWORD}"}}}\n`;
const STREAM = [event('ADDED', 'a'), event('MODIFIED', 'b', ' {['), event('DELETED', 'c')].join('');

/** The stream fed in the given pieces; the text written out (throws on a refusal). */
function run(pieces: Uint8Array[], secrets = true): { text: string; scanned: number } {
  const w = new WatchMasker({ secrets }, 'Secret');
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const r = w.push(p);
    if (!r.ok) throw new Error(r.why);
    out.push(...r.bytes);
  }
  const end = w.end();
  if (!end.ok) throw new Error(end.why);
  return { text: dec(out), scanned: w.framer.scanned };
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('watch streams', () => {
  it('masks every event, one JSON object per line', () => {
    const { text } = run([enc(STREAM)]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(JSON.parse(l).object.data.password).toBe(SECRET_MARKER_B64);
    expect(text).not.toContain(PASSWORD);
  });

  it('gives the same output whatever the chunking, scanning each byte once', () => {
    const whole = run([enc(STREAM)]).text;
    const bytes = enc(STREAM);
    // Split at the front, the middle and the end of an event, inside a string, an escape, a ✓.
    for (const at of [
      1,
      2,
      bytes.length - 2,
      bytes.length - 1,
      STREAM.indexOf('\\"') + 1,
      bytes.indexOf(0xe2) + 1,
    ])
      expect(run(cut(bytes, [at])).text, `cut at ${at}`).toBe(whole);
    expect(run([...bytes].map((b) => new Uint8Array([b]))).text).toBe(whole);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (at) => {
        const r = run(cut(bytes, at));
        expect(r.text).toBe(whole);
        expect(r.scanned).toBe(bytes.length);
      }),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 300) },
    );
  });

  it('passes events unchanged to an unmask caller', () => {
    expect(run(cut(enc(STREAM), [17, 300]), false).text).toBe(STREAM);
  });

  it('frames a pretty-printed stream by its structure, not its newlines', () => {
    const pretty = JSON.stringify(JSON.parse(event('ADDED', 'a')), null, 2) + '\n';
    expect(run([enc(pretty)]).text).not.toContain(PASSWORD);
  });

  it('ends the stream on an event over the bound, bytes outside events, a cut-off event', () => {
    const big = new WatchMasker({ secrets: true }, 'Secret', 100);
    expect(big.push(enc(event('ADDED', 'a')))).toMatchObject({ ok: false });
    expect(big.push(enc('{}'))).toMatchObject({ ok: false }); // once failed, failed
    // An event longer than the bound fails as it arrives, before it is whole.
    const slow = new WatchMasker({ secrets: true }, 'Secret', 100);
    expect(slow.push(enc(`{"type":"ADDED","object":{"data":{"p":"${'x'.repeat(60)}`))).toMatchObject({
      ok: true,
    });
    expect(slow.push(enc('x'.repeat(60)))).toMatchObject({ ok: false });
    expect(new WatchMasker({ secrets: true }, 'Secret').push(enc('x{}'))).toMatchObject({ ok: false });
    const cutOff = new WatchMasker({ secrets: true }, 'Secret');
    expect(cutOff.push(enc(event('ADDED', 'a').slice(0, 40)))).toMatchObject({ ok: true, bytes: [] });
    expect(cutOff.end()).toMatchObject({ ok: false });
    // An event that frames but is not JSON, or is a kind a secrets watch cannot be.
    expect(new WatchMasker({ secrets: true }, 'Secret').push(enc('{"a" 1}'))).toMatchObject({ ok: false });
    expect(
      new WatchMasker({ secrets: true }, 'Secret').push(
        enc('{"type":"ADDED","object":{"kind":"Other","data":{}}}'),
      ),
    ).toMatchObject({ ok: false });
  });
});
