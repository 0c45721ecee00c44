import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { SipHash24 } from '../crypto/siphash.ts';
import { ByteSink } from './byte-sink.ts';
import { TOKEN_KEY_INFO, TOKEN_PATTERN, tokenKey, TokenWriter } from './token.ts';
import { ValueMasker } from './value-masker.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('keyed tokens, version 2', () => {
  const connectionKey = enc('a connection key of 32 bytes....');

  it('derive the PRF key by HKDF-Expand (RFC 5869) from the connection key, with their own label', () => {
    // T(1) = HMAC-SHA256(PRK, info || 0x01), first 16 bytes, computed here by node:crypto.
    const t1 = createHmac('sha256', connectionKey)
      .update(Buffer.concat([Buffer.from(TOKEN_KEY_INFO), Buffer.from([1])]))
      .digest()
      .subarray(0, 16);
    expect(hex(tokenKey(new HmacSha256(connectionKey)))).toBe(hex(t1));
  });

  it('are tok2_ and the 8 bytes of SipHash-2-4 of the value under that key, in hex', () => {
    const value = enc('+1-202-555-0101');
    const key = tokenKey(new HmacSha256(connectionKey));
    const sink = new ByteSink();
    new TokenWriter(new HmacSha256(connectionKey)).write(value, 0, value.byteLength, sink);
    expect(dec(sink.take())).toBe(`tok2_${hex(new SipHash24(key).digest(value))}`);
  });

  it('differ from version 1 tokens by their prefix, and both versions are recognised', () => {
    const value = enc('ada@example.com');
    const masked = dec(new ValueMasker({}, new HmacSha256(connectionKey)).whole(value, 'token'));
    const v1 = `tok_${createHmac('sha256', connectionKey).update(value).digest('hex').slice(0, 16)}`;
    expect(masked.startsWith('tok2_')).toBe(true);
    expect(masked.slice(5)).not.toBe(v1.slice(4));
    expect(TOKEN_PATTERN.test(masked)).toBe(true);
    expect(TOKEN_PATTERN.test(v1)).toBe(true);
    expect(TOKEN_PATTERN.test('tok3_0123456789abcdef')).toBe(false);
  });

  it('are equal for equal values and differ across values and connection keys', () => {
    const tok = (key: string, v: string) =>
      dec(new ValueMasker({}, new HmacSha256(enc(key))).whole(enc(v), 'token'));
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(tok('k', `customer-${i}@example.com`));
    expect(seen.size).toBe(10_000);
    expect(tok('k', 'same')).toBe(tok('k', 'same'));
    expect(tok('k', 'same')).not.toBe(tok('k2', 'same'));
  });
});
