import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, parseKeyLine } from '../public-key-line.ts';
import { importPrivateKey, publicKeyLine } from './keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let made = 0;
function keygen(type: string, bits: number, ...extra: string[]): { priv: string; pub: string; path: string } {
  const path = join(dir, `key${++made}`);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-b', String(bits), '-N', '', '-f', path, ...extra]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return { priv: readFileSync(path, 'utf8'), pub: readFileSync(`${path}.pub`, 'utf8').trim(), path };
}

const typeAndBlob = (line: string) => line.split(' ').slice(0, 2).join(' ');

describe('importPrivateKey', () => {
  it.each([
    ['ecdsa', 256],
    ['ecdsa', 384],
    ['ecdsa', 521],
    ['rsa', 2048],
  ])('reads an OpenSSH %s-%i private key and gives the same public key as ssh-keygen', async (type, bits) => {
    const k = keygen(type, bits);
    expect(await publicKeyLine(await importPrivateKey(k.priv))).toBe(typeAndBlob(k.pub));
  });

  it('reads PKCS#8 PEM (ssh-keygen -m PKCS8) for ECDSA and RSA', async () => {
    for (const [type, bits] of [
      ['ecdsa', 384],
      ['rsa', 2048],
    ] as const) {
      const k = keygen(type, bits, '-m', 'PKCS8');
      expect(k.priv).toContain('BEGIN PRIVATE KEY');
      expect(await publicKeyLine(await importPrivateKey(k.priv))).toBe(typeAndBlob(k.pub));
    }
  });

  it('reads a JWK, as an object or JSON text', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
    ])) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
    const a = await publicKeyLine(await importPrivateKey(jwk));
    const b = await publicKeyLine(await importPrivateKey(JSON.stringify(jwk)));
    expect(a).toMatch(/^ecdsa-sha2-nistp256 /);
    expect(b).toBe(a);
  });

  it('refuses what it cannot use, with a message that says what to do and no key bytes', async () => {
    const ed = keygen('ed25519', 256);
    await expect(importPrivateKey(ed.priv)).rejects.toThrow(/no Ed25519/);
    const encrypted = join(dir, 'enc');
    spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', 'secret-pass', '-f', encrypted]);
    await expect(importPrivateKey(readFileSync(encrypted, 'utf8'))).rejects.toThrow(/encrypted/);
    const sec1 = keygen('ecdsa', 256, '-m', 'PEM');
    await expect(importPrivateKey(sec1.priv)).rejects.toThrow(/ssh-keygen -p -m PKCS8/);
    const garbage =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretsecretsecret\n-----END OPENSSH PRIVATE KEY-----';
    const err = await importPrivateKey(garbage).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain('secret');
    await expect(importPrivateKey('not a key')).rejects.toThrow(
      /not PKCS#8 PEM, an OpenSSH private key or a JWK/,
    );
  });
});

describe('public key lines', () => {
  it("writes a key pair's line as ssh-keygen does, which the pin reader reads back to the same blob", async () => {
    const k = keygen('ecdsa', 256);
    const line = await publicKeyLine(await importPrivateKey(k.priv));
    expect(line).toBe(typeAndBlob(k.pub));
    const l = spawnSync('ssh-keygen', ['-l', '-f', `${k.path}.pub`]).stdout.toString();
    expect(l).toContain(await fingerprint(parseKeyLine(line).blob));
  });
});
