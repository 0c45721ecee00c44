/**
 * Secrets glued to one another (issue 11 review): a detector's greedy match can take the start
 * of the value right after it (a JWT's signature takes `-----BEGIN` for base64url, and the
 * `eyJ` of a JWT glued to it), which hid the rest of that value. Each pair, in both orders, with
 * no separator and with separators a value can hold or not; `fragments` are pieces of each secret
 * that no masked output may hold.
 */
export const GLUED_JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
export const GLUED_PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  '-----END PRIVATE KEY-----',
].join('\n');
export const GLUED_SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';

const SECRETS: Record<string, { value: string; fragments: string[] }> = {
  jwt: { value: GLUED_JWT, fragments: ['eyJzdWIiOiIxMjM0NTY3', 'SflKxwRJSMeKKF2QT4fw', 'adQssw5c'] },
  private_key: { value: GLUED_PEM, fragments: ['MIIEvQIBADANBgkq', 'AoIBAQC7VJTUt9Us8cKj', 'PRIVATE KEY'] },
  slack: { value: GLUED_SLACK, fragments: ['1234567890123', 'AbCdEfGhIjKlMnOpQrStUvWx'] },
};

const SEPARATORS = ['', '-', '_', '.', ' ', '\n'];

export interface GluedCase {
  name: string;
  text: string;
  /** Where the second secret (with its separator) starts in `text`. */
  join: number;
  fragments: string[];
}

/**
 * Every ordered pair of secrets (a secret with itself too), joined by each separator; but a
 * Slack token with a word character right before or after it, which its pattern does not take
 * for a whole token (`\b` on both sides, so that none is found inside a longer word).
 */
export function gluedCases(): GluedCase[] {
  const out: GluedCase[] = [];
  for (const [a, x] of Object.entries(SECRETS))
    for (const [b, y] of Object.entries(SECRETS))
      for (const sep of SEPARATORS) {
        const glued = /\w$/.test(x.value + sep) && /^\w/.test(sep + y.value);
        if (glued && (a === 'slack' || b === 'slack')) continue;
        out.push({
          name: `${a} ${JSON.stringify(sep)} ${b}`,
          text: x.value + sep + y.value,
          join: x.value.length,
          fragments: [...x.fragments, ...y.fragments],
        });
      }
  return out;
}
