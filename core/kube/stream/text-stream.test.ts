import { describe, expect, it } from 'vitest';
import type { Identity } from '../../identity/identity.ts';
import { CompiledPolicies } from '../../policy/engine.ts';
import { policySubject } from '../../policy/principal.ts';
import { SshOutputMasking } from '../../ssh/module/ssh-output-masking.ts';
import type { TerminalMasker } from '../../mask/terminal-masker.ts';
import { textFilter, textResponseHead } from './text-stream.ts';
import { beforeAll } from 'vitest';
import { nodeCedar } from '../../../cli/wasm-node.ts';

beforeAll(async () => {
  await nodeCedar();
});

const enc = new TextEncoder();
const dec = new TextDecoder();
const who: Identity = { issuer: 'https://i.test', subject: 'bob', groups: [], attributes: {}, expiresAt: 0 };

function masking(detectors: Record<string, 'redact'>) {
  return new SshOutputMasking(
    { columns: [], detectors },
    CompiledPolicies.compile('text-stream', []),
    policySubject(who, 'kube'),
    'secret',
    'kube',
  );
}

/** A log of `lines` lines, some with a card, and a seeded chunking of it. */
function log(lines: number): string {
  let s = '';
  for (let i = 0; i < lines; i++)
    s += i % 7 === 3 ? `2026-12-04T02:00:${i % 60}Z paid with 4111 1111 1111 1111 ok\n` : `line ${i} fine\n`;
  return s;
}

function chunks(bytes: Uint8Array, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let x = seed;
  for (let i = 0; i < bytes.length;) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 97);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('container logs through the value detectors', () => {
  it('masks every card of a followed log whatever the chunking, sending the rest unchanged', () => {
    const text = log(400);
    const bytes = enc.encode(text);
    const expected = text.replace(/4111 1111 1111 1111/g, 'X');
    for (const seed of [1, 2, 3, 4, 5]) {
      const f = textFilter(masking({ card: 'redact' }))!;
      let seen = '';
      for (const c of chunks(bytes, seed)) {
        seen += dec.decode(f.push(c), { stream: true });
        // `logs -f` pauses between lines now and then: what was held goes out (a pause inside a
        // value would let its start out unmasked, as for a terminal: hence LOG_IDLE_MS).
        if (c.at(-1) === 10) seen += dec.decode(f.idle(), { stream: true });
      }
      seen += dec.decode(f.end());
      expect(seen, `seed ${seed}`).not.toContain('1111');
      // The masked card takes the redact strategy's form; everything else is byte for byte.
      expect(seen.replace(/paid with .*? ok/g, 'paid with X ok'), `seed ${seed}`).toBe(expected);
      // Linear: each byte examined a bounded number of times, whatever the chunking.
      expect((f as TerminalMasker).work, `seed ${seed}`).toBeLessThan(bytes.length * 8);
    }
  });

  it('lets a whole line out at once, without waiting for a quiet spell (`logs -f` shows each line as it comes)', () => {
    const f = textFilter(masking({ card: 'redact' }))!;
    expect(dec.decode(f.push(enc.encode('before the follow\n')))).toBe('before the follow\n');
    const line = dec.decode(f.push(enc.encode('paid with 4111 1111 1111 1111 while following\n')));
    expect(line).toMatch(/^paid with .+ while following\n$/);
    expect(line).not.toContain('1111');
    expect(f.held).toBe(0);
  });

  it('has no filter when the connection names no detector (the log passes as it is)', () => {
    expect(textFilter(masking({}))).toBeUndefined();
  });

  it('drops Content-Length (masking changes lengths) and refuses a compressed body it cannot read', () => {
    expect(
      textResponseHead([
        ['Content-Type', 'text/plain'],
        ['Content-Length', '120'],
      ]),
    ).toEqual({ headers: [['Content-Type', 'text/plain']] });
    expect(textResponseHead([['Content-Encoding', 'gzip']])).toHaveProperty('refuse');
    expect(textResponseHead([['content-encoding', 'identity']])).toEqual({
      headers: [['content-encoding', 'identity']],
    });
  });
});
