import { describe, expect, it } from 'vitest';
import { ScramClient } from './scram.ts';
import { md5Hex, md5PasswordResponse } from './md5.ts';

describe('SCRAM-SHA-256 (RFC 7677 §3 test vector)', () => {
  const serverFirst =
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('produces the RFC client-final message and accepts the RFC server signature', async () => {
    const c = new ScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    expect(c.clientFirstMessage()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(await c.handleServerFirst(serverFirst)).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    await expect(
      c.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
    ).resolves.toBeUndefined();
  });

  it('rejects a wrong server signature (a server that never knew the password)', async () => {
    const c = new ScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    c.clientFirstMessage();
    await c.handleServerFirst(serverFirst);
    await expect(c.verifyServerFinal('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).rejects.toThrow(
      /signature/,
    );
  });

  it('rejects a server nonce that does not extend ours and absurd iteration counts', async () => {
    const c = new ScramClient('pencil', 'abc');
    c.clientFirstMessage();
    await expect(c.handleServerFirst('r=zzz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).rejects.toThrow(/nonce/);
    await expect(c.handleServerFirst('r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999')).rejects.toThrow(
      /iteration/,
    );
  });
});

describe('md5', () => {
  it('matches the RFC 1321 A.5 test suite', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(md5Hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    );
  });

  it('builds the Postgres md5 password response', () => {
    // md5(md5("secret" + "alice") + salt), salt = 01 02 03 04
    const inner = md5Hex('secretalice');
    const expected = 'md5' + md5Hex(new Uint8Array([...new TextEncoder().encode(inner), 1, 2, 3, 4]));
    expect(md5PasswordResponse('alice', 'secret', new Uint8Array([1, 2, 3, 4]))).toBe(expected);
    expect(expected).toMatch(/^md5[0-9a-f]{32}$/);
  });
});
