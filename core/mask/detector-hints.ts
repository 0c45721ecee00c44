/**
 * Byte hints: what a value must contain for some detector to have a chance (4+ digits, 2+ colons,
 * an '@', the first two bytes of a key or token prefix), found from its bytes in one pass with
 * table lookups. Most values hold no hint, so they are never decoded nor handed to a regular
 * expression (docs/masking.md, "Cost"); detectors.ts runs only the groups a value's hints allow.
 */

/** Any key or token prefix; a value with HINT_TOKEN is tested against this before the scanners run. */
export const TOKEN_HINT =
  /-----BEGIN|eyJ|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|AIza|gh[pousr]_|github_pat_|xox[abprs]-|k_live_/;

// What a value holds that some detector needs, as bits (see hints()).
// 4+ digits: IPv4 (the shortest, `1.2.3.4`), card, SSN, phone, IBAN. The threshold was 7 until
// session 16, which left an address with fewer digits (`10.0.0.1`) unmasked while `10.0.0.10`
// was masked: docs/masking.md, "Short IPv4 addresses".
export const HINT_DIGITS = 1;
export const HINT_COLONS = 2; // 2+ colons: IPv6
export const HINT_AT = 4; // '@': email
export const HINT_TOKEN = 8; // the first two bytes of a TOKEN_HINT prefix: keys, JWTs

/**
 * Where the last hints() call saw its first '@' and its first digit (-1: none), so that the
 * scans after it need not read the bytes before them again (detectors.ts detectIn()).
 */
export const lastHints = { at: -1, digit: -1 };

/**
 * The hints of src[start, end), from its bytes in one pass. HINT_TOKEN is a superset (any byte
 * pair a TOKEN_HINT match starts with: '--', 'ey', 'A' + K/S/G/I/R/N, 'gh', 'gi', 'xo', 'k_'), so
 * TOKEN_HINT still decides; 0 means no detector can match, and the value is not decoded at all.
 */
export function hints(src: Uint8Array, start: number, end: number): number {
  let digits = 0;
  let colons = 0;
  let h = 0;
  let at = -1;
  let digit = -1;
  for (let i = start; i < end; i++) {
    // One table load per byte: most bytes (letters, spaces) are no hint at all.
    const b = src[i]!;
    const k = BYTE_HINT[b]!;
    if (k === 0) continue;
    // Commonest first: digits, then 'e' and the other first bytes of a token prefix.
    if (k === DIGIT) {
      if (digits++ === 0) digit = i;
    } else if (k === TOKEN_FIRST) {
      if (i + 1 < end && TOKEN_PAIR[(b << 8) | src[i + 1]!] === 1) h |= HINT_TOKEN;
    } else if (k === COLON) colons++;
    else if (at < 0) {
      h |= HINT_AT;
      at = i;
    }
  }
  lastHints.at = at;
  lastHints.digit = digit;
  if (digits >= 4) h |= HINT_DIGITS;
  if (colons >= 2) h |= HINT_COLONS;
  // Every key or token shape is 15+ bytes long.
  if (end - start < 15) h &= ~HINT_TOKEN;
  return h;
}

const DIGIT = 1;
const COLON = 2;
const AT = 3;
const TOKEN_FIRST = 4;
const BYTE_HINT = new Uint8Array(256);
for (let c = 48; c <= 57; c++) BYTE_HINT[c] = DIGIT;
BYTE_HINT[58] = COLON;
BYTE_HINT[64] = AT;
// The byte pairs a TOKEN_HINT match starts with, as a 64 KiB table indexed by (first << 8 | next):
// one load where a chain of comparisons was (about a sixth of hints() on prose, 'e' is common).
/** The byte pairs a TOKEN_HINT match starts with (value-scan.ts reads them too). */
export const TOKEN_PAIRS = ['--', 'ey', 'AK', 'AS', 'AG', 'AI', 'AR', 'AN', 'gh', 'gi', 'xo', 'k_'];
/** TOKEN_PAIRS as a table indexed by (first << 8 | next): 1 for a pair. */
export const TOKEN_PAIR = new Uint8Array(1 << 16);
for (const p of TOKEN_PAIRS) {
  BYTE_HINT[p.charCodeAt(0)] = TOKEN_FIRST;
  TOKEN_PAIR[(p.charCodeAt(0) << 8) | p.charCodeAt(1)] = 1;
}
