import { describe, expect, it, vi } from 'vitest';
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

describe('SCRAM derived keys, remembered per connection', () => {
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const first = (salt: string, iterations = 4096) => `r=${nonce}%server,s=${salt},i=${iterations}`;
  const salt = 'W22ZaJ0SNY7soEsUEjb6gQ==';
  const login = (password: string, scope: string | undefined, serverFirst = first(salt)) => {
    const c = new ScramClient(password, nonce, 'user', scope);
    c.clientFirstMessage();
    return c.handleServerFirst(serverFirst);
  };

  it('derives once per (connection, password, salt, iterations) and answers exactly as without', async () => {
    const pbkdf2 = vi.spyOn(crypto.subtle, 'deriveBits');
    try {
      const uncached = await login('pencil', undefined);
      expect(pbkdf2).toHaveBeenCalledTimes(1);
      // The same inputs under a scope: derived once, then reused, the same proof every time.
      expect(await login('pencil', 'conn-a')).toBe(uncached);
      expect(await login('pencil', 'conn-a')).toBe(uncached);
      expect(pbkdf2).toHaveBeenCalledTimes(2);
      // Without a scope nothing is reused.
      expect(await login('pencil', undefined)).toBe(uncached);
      expect(pbkdf2).toHaveBeenCalledTimes(3);
      // Another connection, another password (a rotated credential), another salt (the password
      // changed on the server), another iteration count: each derives afresh.
      expect(await login('pencil', 'conn-b')).toBe(uncached);
      expect(pbkdf2).toHaveBeenCalledTimes(4);
      const rotated = await login('pencil2', 'conn-a');
      expect(rotated).not.toBe(uncached);
      expect(rotated).toBe(await login('pencil2', undefined));
      expect(pbkdf2).toHaveBeenCalledTimes(6);
      const resalted = await login('pencil', 'conn-a', first('AAAAaJ0SNY7soEsUEjb6gQ=='));
      expect(resalted).not.toBe(uncached);
      expect(await login('pencil', 'conn-a', first(salt, 4097))).not.toBe(uncached);
      expect(pbkdf2).toHaveBeenCalledTimes(8);
    } finally {
      pbkdf2.mockRestore();
    }
  });

  it('a login that reused the keys gives the RFC proof and still checks the server signature', async () => {
    const rfcFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    for (const signature of [
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
      'v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    ]) {
      const c = new ScramClient('pencil', nonce, 'user', 'conn-rfc');
      c.clientFirstMessage();
      expect(await c.handleServerFirst(rfcFirst)).toBe(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      );
      if (signature.startsWith('v=6')) await expect(c.verifyServerFinal(signature)).resolves.toBeUndefined();
      else await expect(c.verifyServerFinal(signature)).rejects.toThrow(/signature/);
    }
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
