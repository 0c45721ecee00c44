/**
 * Detectors on hostile input (issue 9, finding 7): the same detections as their patterns
 * (SOURCES) define, found with work linear in the value. The reference below runs each pattern
 * the obvious way — tried at every position, in group order — which is quadratic on some inputs
 * and so only runs on small ones; the scanners must agree with it exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  detect,
  detectIn,
  DETECTORS,
  SOURCES,
  validMatch,
  type Detection,
  type DetectorKind,
} from './detectors.ts';
import { hints, lastHints } from './detector-hints.ts';
import { disjoint } from './detection-order.ts';
import { JWT_MAX_HEADER_TRIES } from './token-scan.ts';
import { HOSTILE_VALUES } from '../../cli/bench/hostile.ts';

// Characters touched per byte of a hostile value, at most (see workDuring): a bounded pattern
// retried from each start reads up to its own length again (a card: 37); a quadratic scan reads
// kilobytes per byte.
const WORK_PER_BYTE = 100;
// Byte reads per byte of a hostile value, at most, for the scans on bytes: each start position
// reads a bounded window a few times (a card's 37 bytes: separator, digit and `\b` checks, then
// Luhn); `1 1 1 ...` reads about 140. A quadratic scan of the 20 KB prefix would read ~10,000.
const READS_PER_BYTE = 200;

// Keys and tokens are each found on their own, and may start inside another's match.
const GROUPS: DetectorKind[][] = [
  ['private_key'],
  ['jwt'],
  ['cloud_key'],
  ['iban', 'card', 'ssn', 'phone', 'ipv4'],
  ['ipv6'],
];
const SCANNED = new Set(GROUPS.flat());
const STICKY = Object.fromEntries(GROUPS.flat().map((k) => [k, new RegExp(SOURCES[k], 'y')]));

/**
 * Where the next match of a kind may start after `hit`: a JWT's signature, or a cloud key (at
 * most 93 bytes), can take the start of a value glued to it.
 */
function resume(hit: Detection, text: string): number {
  if (hit.kind === 'jwt') return text.lastIndexOf('.', hit.end - 1) + 1;
  if (hit.kind === 'cloud_key') return hit.start + 1;
  return hit.end;
}

/**
 * At each position, the first kind of the group whose pattern matches there and is valid; then
 * what overlaps an earlier detection keeps only what lies past it.
 */
function reference(text: string, enabled: ReadonlySet<DetectorKind>): Detection[] {
  const found: Detection[] = [];
  for (const kinds of GROUPS) {
    for (let p = 0; p < text.length;) {
      let hit: Detection | undefined;
      for (const kind of kinds) {
        if (!enabled.has(kind)) continue;
        const re = STICKY[kind]!;
        re.lastIndex = p;
        const m = re.exec(text);
        if (m && validMatch(kind, m[0])) {
          hit = { kind, start: p, end: p + m[0].length };
          break;
        }
      }
      if (hit && hit.end > p) {
        found.push(hit);
        p = resume(hit, text);
      } else p++;
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Detection[] = [];
  for (const d of found) {
    const end = kept.at(-1)?.end ?? 0;
    if (d.end > end) kept.push({ ...d, start: Math.max(d.start, end) });
  }
  // detect() skips values too short for any detector.
  return text.length < 7 ? [] : kept;
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const NONE_HEADER = 'eyJhbGciOiJub25lIn0'; // {"alg":"none"}
const PEM_BEGIN = '-----BEGIN PRIVATE KEY-----';
const PEM_END = '-----END PRIVATE KEY-----';

const piece = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      JWT,
      NONE_HEADER,
      'eyJ',
      '.',
      '.eyJzdWIiOiIxIn0',
      '.abcdefgh12',
      'AAAA',
      '-',
      '_',
      ' ',
      '\n',
      PEM_BEGIN,
      PEM_END,
      '-----BEGIN RSA PRIVATE KEY-----',
      '-----END RSA PRIVATE KEY-----',
      '4111 1111 1111 1111',
      '123-45-6789',
      ' 12345',
      '+1-202-555-0147',
      '(202) 555-0199',
      'GB82 WEST 1234 5698 7654 32',
      '192.168.1.1',
      '2001:db8::1',
      ':',
      'AKIAIOSFODNN7EXAMPLE',
      'xoxb-1234567890',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom('e', 'y', 'J', '.', '-', '1', '2', ' ', ':', 'A', 'K', 'I'),
      maxLength: 12,
    }),
  },
);

const eyJPerRun = (text: string) =>
  Math.max(0, ...text.split(/[^A-Za-z0-9_-]/).map((run) => run.split('eyJ').length - 1));

describe('detectors agree with their patterns', () => {
  it('on random mixes of detectable pieces (property)', () => {
    const all = new Set(SCANNED);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        // Past JWT_MAX_HEADER_TRIES candidates in one run the scanner masks (fail closed).
        fc.pre(eyJPerRun(text) <= JWT_MAX_HEADER_TRIES);
        expect(detect(text, all)).toEqual(reference(text, all));
      }),
      { numRuns: 3000 },
    );
  });

  it('with some kinds disabled (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.subarray([...SCANNED], { minLength: 1 }),
        (parts, kinds) => {
          const text = parts.join('');
          fc.pre(eyJPerRun(text) <= JWT_MAX_HEADER_TRIES);
          const on = new Set(kinds);
          expect(detect(text, on)).toEqual(reference(text, on));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("on the number group's own bytes: separators, signs, brackets, letters, other scripts (property)", () => {
    // number-scan.ts implements these patterns by hand on bytes: every choice a backtracking
    // engine makes (greedy repetitions given back for `\b`, the phone's optional parts, the card's
    // look-behind) is exercised by strings built from the bytes the patterns read.
    const unit = fc.constantFrom(
      ...'0123456789012345678901234567890123456789'.split(''),
      ' ',
      '-',
      '.',
      ',',
      '+',
      '(',
      ')',
      '_',
      'a',
      'G',
      'B',
      'Z',
      'é',
      '\u0663',
    );
    const chunk = fc.oneof(
      fc.string({ unit, maxLength: 24 }),
      fc.constantFrom(
        '4111111111111111',
        '+44 (20) 7946 0958',
        '+1 202.555.0147',
        'GB82WEST12345698765432',
        '255.255.255.255',
        '1.75',
        '078-05-1120',
        '(415)555-0134',
        'DE89 3704 0044 0532 0130 00',
      ),
    );
    const groups = [...SCANNED].filter((k) => ['iban', 'card', 'ssn', 'phone', 'ipv4'].includes(k));
    fc.assert(
      fc.property(
        fc.array(chunk, { maxLength: 5 }),
        fc.subarray(groups, { minLength: 1 }),
        (parts, kinds) => {
          const text = parts.join('');
          const on = new Set(kinds);
          expect(detect(text, on)).toEqual(reference(text, on));
          expect(detect(text, SCANNED)).toEqual(reference(text, SCANNED));
        },
      ),
      { numRuns: Number(process.env['NUMBER_SCAN_RUNS'] ?? 3000) },
    );
  });

  it('at the length bounds of a JWT and a private key', () => {
    const all = new Set(SCANNED);
    const b = (n: number) => 'A'.repeat(n);
    // A valid header (`alg` present) of the given base64url length.
    const header = (len: number) => {
      const k = Math.floor((len * 3) / 4) - 21;
      const h = btoa(`{"alg":"none","x":"${'A'.repeat(k)}"}`).replace(/=+$/, '');
      expect(h).toHaveLength(len);
      return h;
    };
    const cases = [
      `x ${header(4099)}.eyJzdWIiOiIxIn0.${b(8)} y`, // eyJ + 4096
      `x ${header(4100)}.eyJzdWIiOiIxIn0.${b(8)} y`, // one over
      `x ${NONE_HEADER}.eyJ${b(16384)}.${b(8)} y`,
      `x ${NONE_HEADER}.eyJ${b(16385)}.${b(8)} y`,
      `x ${NONE_HEADER}.eyJzdWIiOiIxIn0.${b(1024)} y`,
      `x ${NONE_HEADER}.eyJzdWIiOiIxIn0.${b(1030)} y`,
      `x ${NONE_HEADER}.eyJzdWIiOiIxIn0.${b(7)} y`,
      `${PEM_BEGIN}${'\n'.repeat(16384)}${PEM_END}`,
      `${PEM_BEGIN}${'\n'.repeat(16385)}${PEM_END}`,
      `${PEM_BEGIN}\n${PEM_BEGIN}\nAB\n${PEM_END}\n${PEM_END}`,
      `${'eyJ'.repeat(JWT_MAX_HEADER_TRIES - 1)}${NONE_HEADER}.eyJzdWIiOiIxIn0.${b(8)}`,
    ];
    for (const text of cases) expect(detect(text, all), text.slice(0, 40)).toEqual(reference(text, all));
    // The bounds bite: the second of each pair is not a detection of its kind.
    expect(detect(cases[0]!, all).map((d) => d.kind)).toEqual(['jwt']);
    expect(detect(cases[1]!, all).map((d) => d.kind)).not.toContain('jwt');
    expect(detect(cases[7]!, all).map((d) => d.kind)).toEqual(['private_key']);
    expect(detect(cases[8]!, all)).toEqual([]);
  });

  it('find a value another kind shadowed at the same start (an SSN or phone before a number)', () => {
    const all = new Set(SCANNED);
    const kinds = (s: string) => detect(s, all).map((d) => [d.kind, s.slice(d.start, d.end)]);
    expect(kinds('ssn 123-45-6789 12345')).toEqual([['ssn', '123-45-6789']]);
    expect(kinds('call 415-555-0134 12345 now')).toEqual([['phone', '415-555-0134']]);
  });

  it('masks a run with too many undecodable JWT starts from its first (fail closed)', () => {
    const text = `${'eyJ'.repeat(JWT_MAX_HEADER_TRIES)}${NONE_HEADER}.eyJzdWIiOiIxIn0.${'A'.repeat(8)}`;
    expect(detect(text, new Set(['jwt']))).toEqual([{ kind: 'jwt', start: 0, end: text.length }]);
  });
});

/**
 * Characters the scan touches through the string and regex primitives it uses: what indexOf
 * passes over, each charCodeAt, what startsWith/slice/atob read, and how far each RegExp#exec
 * moves (not its backtracking within one start, which the bounded patterns limit).
 */
function workDuring(fn: () => void): number {
  const S = String.prototype;
  const R = RegExp.prototype;
  const saved = { indexOf: S.indexOf, charCodeAt: S.charCodeAt, startsWith: S.startsWith, slice: S.slice };
  const exec = R.exec;
  const atob0 = globalThis.atob;
  let work = 0;
  S.indexOf = function (this: string, search: string, from = 0) {
    const r = saved.indexOf.call(this, search, from);
    work += (r >= 0 ? r + search.length : this.length) - from;
    return r;
  };
  S.charCodeAt = function (this: string, i: number) {
    work++;
    return saved.charCodeAt.call(this, i);
  };
  S.startsWith = function (this: string, search: string, at?: number) {
    work += search.length;
    return saved.startsWith.call(this, search, at);
  };
  S.slice = function (this: string, a?: number, b?: number) {
    const r = saved.slice.call(this, a, b);
    work += r.length;
    return r;
  };
  R.exec = function (this: RegExp, text: string) {
    const from = this.global || this.sticky ? this.lastIndex : 0;
    const m = exec.call(this, text);
    // A sticky regex tries one position; a global one moves on to its match or the end.
    if (m) work += m.index + m[0].length - from;
    else work += this.sticky ? 1 : text.length - from;
    return m;
  };
  globalThis.atob = (data: string) => {
    work += data.length;
    return atob0(data);
  };
  try {
    fn();
  } finally {
    Object.assign(S, saved);
    R.exec = exec;
    globalThis.atob = atob0;
  }
  return work;
}

/**
 * Hostile values of 1-2 MB (the bench's list): the scans that were quadratic (a regex rescanning
 * kilobytes from every `eyJ` or `-----BEGIN `) took seconds to minutes on them. The work counted
 * must stay linear; the sort of what they find, which the counter cannot see, is counted below.
 */
describe('detectors on hostile values', () => {
  for (const [name, make] of Object.entries(HOSTILE_VALUES)) {
    it(`do work linear in the value: ${name}`, () => {
      const text = make();
      const work = workDuring(() => detect(text, new Set(DETECTORS)));
      expect(work).toBeLessThan(WORK_PER_BYTE * text.length);
    });
  }

  for (const [name, make] of Object.entries(HOSTILE_VALUES)) {
    it(`read each byte a bounded number of times, on bytes too: ${name}`, () => {
      // Emails and the number group are found on bytes (number-scan.ts), which the string
      // counter above cannot see: here every byte read is counted, through a proxy, and the
      // count stops the scan as soon as it passes the bound (a quadratic scan would not end).
      // A prefix: a proxied read costs ~100 ns, and a quadratic scan would already read ~n² bytes.
      const text = make().slice(0, 20_000);
      const n = text.length;
      const plain = new Uint8Array(n);
      for (let i = 0; i < n; i++) plain[i] = text.charCodeAt(i) < 128 ? text.charCodeAt(i) : 0x80;
      const limit = READS_PER_BYTE * n;
      let reads = 0;
      const counted = new Proxy(plain, {
        get(target, key) {
          if (typeof key === 'string' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) {
            if (++reads > limit) throw new Error(`more than ${READS_PER_BYTE} reads per byte`);
            return target[Number(key)];
          }
          const v = Reflect.get(target, key, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const h = hints(plain, 0, n);
      const work = workDuring(() =>
        detectIn(counted, 0, n, new Set(DETECTORS), h, text, lastHints.at, lastHints.digit),
      );
      expect(reads + work).toBeLessThan(limit);
    });
  }

  it('order what they find with work linear in the number found (an insertion sort was quadratic)', () => {
    // The worst order for an insertion sort: one group's detections all after another's.
    const n = 4000;
    const det = (start: number): Detection => ({ kind: 'card', start, end: start + 1 });
    const found = [
      ...Array.from({ length: n / 2 }, (_, i) => det(n + 2 * i)),
      ...Array.from({ length: n / 2 }, (_, i) => det(2 * i)),
    ];
    let touched = 0;
    const counted = new Proxy(found, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) touched++;
        return Reflect.get(target, key, receiver) as unknown;
      },
      set(target, key, value, receiver) {
        touched++;
        return Reflect.set(target, key, value, receiver);
      },
    });
    const out = disjoint(counted);
    expect(out.map((d) => d.start)).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    // Read into the engine's sort and written back, then read once more to drop overlaps.
    expect(touched).toBeLessThan(8 * n);
  });
});
