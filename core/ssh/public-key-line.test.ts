import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyringEntry, parseKeyring } from '../crypto/credentials.ts';
import { base64Decode, base64Encode } from '../crypto/secrets.ts';
import { generateGatewayHostKey, hostKeyAad, openGatewayHostKey } from './gateway-host-key.ts';
import { fingerprint, keyLine, parseKeyLine, sameKey } from './public-key-line.ts';

// Ground truth is the real OpenSSH: ssh-keygen reads the key we generate and prints its public
// line and fingerprint, and makes the keys we parse.
let dir: string;
const keygen = (...args: string[]) => execFileSync('ssh-keygen', args, { cwd: dir, encoding: 'utf8' }).trim();
/** A fresh key made by ssh-keygen: its .pub line. */
const made = (name: string, ...args: string[]) => {
  keygen('-q', '-N', '', '-C', `comment for ${name}`, '-f', join(dir, name), ...args);
  return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-sshkey-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the gateway host key', () => {
  it('is an ECDSA P-256 key whose public line and fingerprint are what ssh-keygen derives from its private half', async () => {
    const ring = await parseKeyring(generateKeyringEntry('k1'));
    const key = await generateGatewayHostKey(ring, 'cn_one');
    const pemText = await openGatewayHostKey(ring, key.sealed, 'cn_one');
    expect(pemText).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.sealed.ciphertext).not.toContain('PRIVATE');

    writeFileSync(join(dir, 'gw.pem'), pemText, { mode: 0o600 });
    expect(keygen('-y', '-f', join(dir, 'gw.pem'))).toBe(key.publicLine);
    writeFileSync(join(dir, 'gw.pub'), `${key.publicLine}\n`);
    const [, printed] = keygen('-l', '-f', join(dir, 'gw.pub')).split(' ');
    expect(await fingerprint(parseKeyLine(key.publicLine).blob)).toBe(printed);
  });

  it("opens only for its own connection, and not as that connection's credential", async () => {
    const ring = await parseKeyring(generateKeyringEntry('k1'));
    const key = await generateGatewayHostKey(ring, 'cn_one');
    await expect(openGatewayHostKey(ring, key.sealed, 'cn_two')).rejects.toMatchObject({
      code: 'CRYPTO_FAILED',
    });
    // Target credentials are sealed with the bare connection id as AAD (core/crypto/credentials.ts).
    expect(hostKeyAad('cn_one')).not.toBe('cn_one');
    const { decryptCredential } = await import('../crypto/credentials.ts');
    await expect(decryptCredential(ring, key.sealed, 'cn_one')).rejects.toMatchObject({
      code: 'CRYPTO_FAILED',
    });
  });

  it('differs for every connection', async () => {
    const ring = await parseKeyring(generateKeyringEntry('k1'));
    const a = await generateGatewayHostKey(ring, 'cn_a');
    const b = await generateGatewayHostKey(ring, 'cn_b');
    expect(a.publicLine).not.toBe(b.publicLine);
  });
});

describe('OpenSSH public key lines', () => {
  it.each([
    ['ecdsa-sha2-nistp256', ['-t', 'ecdsa', '-b', '256']],
    ['ecdsa-sha2-nistp384', ['-t', 'ecdsa', '-b', '384']],
    ['ecdsa-sha2-nistp521', ['-t', 'ecdsa', '-b', '521']],
    ['ssh-rsa', ['-t', 'rsa', '-b', '3072']],
  ])('reads a %s key ssh-keygen made, comment dropped, same fingerprint', async (type, args) => {
    const line = made(`k-${type}`, ...args);
    const key = parseKeyLine(line);
    expect(key.type).toBe(type);
    expect(keyLine(key)).toBe(line.split(' ').slice(0, 2).join(' '));
    const [, printed] = keygen('-l', '-f', join(dir, `k-${type}.pub`)).split(' ');
    expect(await fingerprint(key.blob)).toBe(printed);
  });

  it('refuses an Ed25519 key, saying which key to give instead', () => {
    const line = made('k-ed', '-t', 'ed25519');
    expect(() => parseKeyLine(line)).toThrow(/ssh-ed25519 .*ssh-keyscan -t ecdsa/);
  });

  it('refuses an RSA key shorter than 2048 bits', () => {
    const line = made('k-rsa1024', '-t', 'rsa', '-b', '1024');
    expect(() => parseKeyLine(line)).toThrow(/2048/);
  });

  it('refuses lines whose blob does not say what the line says', () => {
    const p256 = made('k-mix', '-t', 'ecdsa', '-b', '256');
    const b64 = p256.split(' ')[1]!;
    const blob = base64Decode(b64);
    const cases: Array<[string, RegExp]> = [
      [`ecdsa-sha2-nistp384 ${b64}`, /not a ecdsa-sha2-nistp384 key/],
      [
        `ecdsa-sha2-nistp256 ${base64Encode(blob.subarray(0, blob.length - 1))}`,
        /ends inside the public point/,
      ],
      [
        `ecdsa-sha2-nistp256 ${base64Encode(new Uint8Array([...blob, 0, 0, 0, 0]))}`,
        /bytes after its last field/,
      ],
      [`ecdsa-sha2-nistp256 ${b64.slice(0, -4)}!!!!`, /not base64/],
      [`ecdsa-sha2-nistp256`, /expected an OpenSSH public key line/],
      [`ssh-dss ${b64}`, /unsupported key type/],
      [`ecdsa-sha2-nistp256 ${'A'.repeat(9000)}`, /too long/],
      // A length field claiming 4 GB must not be believed.
      [
        `ecdsa-sha2-nistp256 ${base64Encode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]))}`,
        /ends inside/,
      ],
    ];
    for (const [line, why] of cases) expect(() => parseKeyLine(line), line.slice(0, 60)).toThrow(why);
  });

  it('compares keys by their blobs', () => {
    const line = made('k-cmp', '-t', 'ecdsa');
    const other = made('k-cmp2', '-t', 'ecdsa');
    expect(
      sameKey(parseKeyLine(line), parseKeyLine(`${line.split(' ').slice(0, 2).join(' ')} another comment`)),
    ).toBe(true);
    expect(sameKey(parseKeyLine(line), parseKeyLine(other))).toBe(false);
  });
});
