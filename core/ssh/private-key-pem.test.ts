import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyProblem } from './private-key-pem.ts';

// Keys made by the real ssh-keygen, in the formats admins hand over.
let dir: string;
let n = 0;
const key = (...args: string[]) => {
  const f = join(dir, `k${n++}`);
  execFileSync('ssh-keygen', ['-q', '-C', '', '-f', f, ...args]);
  return readFileSync(f, 'utf8');
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-privkey-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SSH private keys a connection may hold', () => {
  it.each([
    ['an OpenSSH ECDSA key', ['-N', '', '-t', 'ecdsa']],
    ['an OpenSSH RSA key', ['-N', '', '-t', 'rsa', '-b', '3072']],
    ['a PKCS#8 ECDSA key', ['-N', '', '-t', 'ecdsa', '-b', '384', '-m', 'PKCS8']],
    ['a PKCS#8 RSA key', ['-N', '', '-t', 'rsa', '-b', '2048', '-m', 'PKCS8']],
  ])('accepts %s', (_what, args) => {
    expect(privateKeyProblem(key(...args))).toBeNull();
  });

  it.each([
    ['an OpenSSH Ed25519 key', ['-N', '', '-t', 'ed25519'], /Ed25519 keys cannot be used/],
    ['a passphrase-protected OpenSSH key', ['-N', 'secret pass', '-t', 'ecdsa'], /passphrase/],
    ['a passphrase-protected PKCS#8 key', ['-N', 'secret pass', '-t', 'ecdsa', '-m', 'PKCS8'], /passphrase/],
    ['a PKCS#1 RSA key', ['-N', '', '-t', 'rsa', '-b', '2048', '-m', 'PEM'], /PKCS#1\/SEC1/],
  ])('refuses %s, saying why', (_what, args, why) => {
    expect(privateKeyProblem(key(...args))).toMatch(why);
  });

  it('refuses what is not a key, or is cut short, without quoting it', () => {
    const good = key('-N', '', '-t', 'ecdsa');
    const lines = good.trim().split('\n');
    const cut = [lines[0], lines[1], lines.at(-1)].join('\n');
    for (const text of [
      'hunter2',
      cut,
      good.replace('OPENSSH PRIVATE KEY-----\n', 'OPENSSH PRIVATE KEY-----\n!!'),
      'x'.repeat(9000),
    ]) {
      const problem = privateKeyProblem(text);
      expect(problem).not.toBeNull();
      expect(problem).not.toContain(text.slice(40, 60) || 'hunter2');
    }
  });
});
