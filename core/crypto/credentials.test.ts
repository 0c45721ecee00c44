import { describe, expect, it } from 'vitest';
import { decryptCredential, encryptCredential, generateKeyringEntry, parseKeyring } from './credentials.ts';
import { constantTimeEqual, randomToken, sha256Hex } from './secrets.ts';

describe('credential encryption', () => {
  it('round-trips and never stores the plaintext', async () => {
    const ring = await parseKeyring(generateKeyringEntry('k1'));
    const sealed = await encryptCredential(ring, 'hunter2-password', 'cn_1');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext).not.toContain('hunter2');
    expect(await decryptCredential(ring, sealed, 'cn_1')).toBe('hunter2-password');
  });

  it('refuses a ciphertext moved to another connection, tampered, or under an unknown key', async () => {
    const ring = await parseKeyring(generateKeyringEntry('k1'));
    const sealed = await encryptCredential(ring, 'pw', 'cn_1');
    await expect(decryptCredential(ring, sealed, 'cn_2')).rejects.toThrow(/could not be decrypted/);
    const bytes = atob(sealed.ciphertext);
    const flipped = btoa(bytes.slice(0, -1) + String.fromCharCode(bytes.charCodeAt(bytes.length - 1) ^ 1));
    await expect(decryptCredential(ring, { ...sealed, ciphertext: flipped }, 'cn_1')).rejects.toThrow(
      /could not be decrypted/,
    );
    await expect(decryptCredential(ring, { ...sealed, keyId: 'nope' }, 'cn_1')).rejects.toThrow(
      /key id nope/,
    );
  });

  it('keeps old rows readable after rotation', async () => {
    const old = generateKeyringEntry('k1');
    const sealed = await encryptCredential(await parseKeyring(old), 'pw', 'cn_1');
    const rotated = await parseKeyring(`${generateKeyringEntry('k2')},${old}`);
    expect(rotated.currentKeyId).toBe('k2');
    expect(await decryptCredential(rotated, sealed, 'cn_1')).toBe('pw');
  });

  it('rejects malformed keyrings without echoing key material', async () => {
    await expect(parseKeyring('k1:c2hvcnQ=')).rejects.toThrow(/32 bytes/);
    await expect(parseKeyring('nokid')).rejects.toThrow(/kid:base64key/);
    await expect(parseKeyring('k1:c2hvcnQ=')).rejects.not.toThrow(/c2hvcnQ/);
  });
});

describe('tokens', () => {
  it('mints prefixed random tokens and compares hashes in constant time', async () => {
    const a = randomToken('pct');
    expect(a).toMatch(/^pct_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(randomToken('pct'));
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});
