/**
 * Linear scanners for the two detector shapes a regular expression finds only in quadratic time
 * (issue 9, finding 7): a JWT (`eyJ` + base64url, three dot-separated segments) and a PEM private
 * key block. Each implements its pattern in detectors.ts SOURCES exactly, as "the first valid
 * match starting at or after `from`", but shares the work a backtracking engine repeats for every
 * start position: where a base64url run ends, where the next END line is. A regex tried at each
 * `eyJ` of `'eyJ'.repeat(200000)` scans 4 KB from each (3 s); this reads each byte a bounded
 * number of times.
 */

/**
 * A match of one detector: text[start, end). `resume` is where the next match of the same
 * detector may start: a match's greedy last segment (a JWT's signature: `-` and `_` are
 * base64url, and so is `eyJ`) can take the start of a value glued to it, so the search for the
 * next one goes on from where that segment starts, not from `end`.
 */
export interface Span {
  start: number;
  end: number;
  resume: number;
}

/** The first valid match starting at or after `from` (calls come with `from` never decreasing). */
type Scan = (from: number) => Span | undefined;

// The segment bounds of SOURCES.jwt: eyJ[B]{4,4096} \. eyJ[B]{4,16384} \. [B]{8,1024}.
const JWT_HEADER_MAX = 3 + 4096;
const JWT_PAYLOAD_MAX = 3 + 16384;
const JWT_SIGNATURE_MAX = 1024;
/**
 * Starts whose header is decoded in one base64url run. A real token starts at its run's first
 * `eyJ`; a run with more candidates whose headers do not decode is hostile or garbage, and is
 * masked from its first candidate (fail closed) rather than decoded again from every start.
 */
export const JWT_MAX_HEADER_TRIES = 4;

const B64URL = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-')
  B64URL[c.charCodeAt(0)] = 1;
const DOT = 46;

/** SOURCES.jwt, with the header's JSON checked (`alg` present) as detectors.ts validates it. */
export function jwtSource(text: string): Scan {
  const n = text.length;
  // End of the base64url run from `from`, reading at most `max` bytes (then from + max + 1).
  const runEnd = (from: number, max: number) => {
    let e = from;
    const stop = Math.min(n, from + max + 1);
    while (e < stop && B64URL[text.charCodeAt(e)] === 1) e++;
    return e;
  };
  // The run whose end was last found: every `eyJ` inside it shares that end.
  let runFrom = 0;
  let runTo = -1;
  // Where the signature of the tail tailEnd() last found starts.
  let signature = 0;

  return (from) => {
    let p = text.indexOf('eyJ', from);
    while (p >= 0) {
      let re: number;
      if (p >= runFrom && p < runTo) re = runTo;
      else {
        re = runEnd(p, Infinity);
        runFrom = p;
        runTo = re;
      }
      // The header segment is all of the run from the start on (no '.' inside a run).
      if (re - p < 7) {
        p = text.indexOf('eyJ', re);
        continue;
      }
      if (re - p > JWT_HEADER_MAX) {
        p = text.indexOf('eyJ', re - JWT_HEADER_MAX);
        continue;
      }
      const end = tailEnd(re);
      if (end < 0) {
        p = text.indexOf('eyJ', re);
        continue;
      }
      const first = p;
      for (let tries = 1; p >= 0 && re - p >= 7; tries++) {
        if (jwtHeaderValid(text.slice(p, re))) return { start: p, end, resume: signature };
        if (tries === JWT_MAX_HEADER_TRIES) return { start: first, end, resume: signature };
        p = text.indexOf('eyJ', p + 1);
      }
      p = text.indexOf('eyJ', re);
    }
    return undefined;
  };

  // Where the payload and signature after a header ending at `re` end, or -1.
  function tailEnd(re: number): number {
    if (text.charCodeAt(re) !== DOT || !text.startsWith('eyJ', re + 1)) return -1;
    const pe = runEnd(re + 1, JWT_PAYLOAD_MAX);
    const payload = pe - re - 1;
    if (payload < 7 || payload > JWT_PAYLOAD_MAX || text.charCodeAt(pe) !== DOT) return -1;
    // The signature is greedy up to its bound, not to the run's end.
    const se = runEnd(pe + 1, JWT_SIGNATURE_MAX);
    if (se - pe - 1 < 8) return -1;
    signature = pe + 1;
    return Math.min(se, pe + 1 + JWT_SIGNATURE_MAX);
  }
}

/** A JWT header: base64url JSON with an `alg` (RFC 7515 §4.1.1). */
export function jwtHeaderValid(segment: string): boolean {
  try {
    const b64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as { alg?: unknown };
    return typeof json.alg === 'string';
  } catch {
    return false;
  }
}

// The two lines of SOURCES.private_key; each is tried at one position (sticky), where its
// `-----BEGIN ` / `-----END ` opener is.
const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/y;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/y;
const PEM_BODY_MAX = 16384;

/** SOURCES.private_key: a BEGIN line, at most 16 KB, the first END line after it. */
export function privateKeySource(text: string): Scan {
  // The first END line at or after `searchedFrom` (-1: none); BEGIN lines come in order, so
  // each END line is looked for once.
  let searchedFrom = -1;
  let endAt = -1;
  let endLen = 0;
  const nextEnd = (h: number) => {
    if (searchedFrom >= 0 && h >= searchedFrom && (endAt < 0 || endAt >= h)) return endAt;
    searchedFrom = h;
    for (let q = text.indexOf('-----END ', h); q >= 0; q = text.indexOf('-----END ', q + 1)) {
      PEM_END.lastIndex = q;
      const m = PEM_END.exec(text);
      if (m) {
        endLen = m[0].length;
        return (endAt = q);
      }
    }
    return (endAt = -1);
  };

  return (from) => {
    for (let p = text.indexOf('-----BEGIN ', from); p >= 0; p = text.indexOf('-----BEGIN ', p + 1)) {
      PEM_BEGIN.lastIndex = p;
      const m = PEM_BEGIN.exec(text);
      if (!m) continue;
      const h = p + m[0].length;
      const q = nextEnd(h);
      if (q < 0) return undefined; // no END line after this BEGIN, so none after a later one
      // Its END line is exact: nothing after it is taken.
      if (q - h <= PEM_BODY_MAX) return { start: p, end: q + endLen, resume: q + endLen };
    }
    return undefined;
  };
}
