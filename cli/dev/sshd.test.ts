import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { sshdConfig, startDemoSshd, type DemoSshd } from './sshd.ts';

// The demo SSH target of `postern dev`, reached DIRECTLY by the real OpenSSH client (the path
// through the edge is tested end to end elsewhere).

let sshd: DemoSshd;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-sshd-'));
  sshd = await startDemoSshd({ dir: join(dir, 'sshd') });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An ssh_config for `ssh -F`: only this file applies (ssh(1) -F), pinned to `hostKey`. */
function clientConfig(hostKey: string): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  const known = `${file}.known_hosts`;
  writeFileSync(known, `[127.0.0.1]:${sshd.port} ${hostKey}\n`);
  writeFileSync(
    file,
    [
      'Host demo',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${sshd.login}`,
      `  IdentityFile ${sshd.loginKey.privateKeyFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${known}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  return file;
}

const ssh = (config: string, ...command: string[]) =>
  spawnSync('ssh', ['-F', config, 'demo', ...command], { encoding: 'utf8', timeout: 20_000 });

describe('the demo sshd of postern dev', () => {
  it('listens on 127.0.0.1 only, as the user running it', () => {
    expect(sshd.login).toBe(userInfo().username);
    const text = sshdConfig({ dir: '/d', port: 2222, login: 'me' });
    expect(text).toContain('ListenAddress 127.0.0.1\n');
    expect(text).toContain('PasswordAuthentication no\n');
    expect(text).toContain('UsePAM no\n');
    expect(text).toContain('AuthorizedKeysFile "/d/authorized_keys"\n');
  });

  it('adds one exit hook, however much sshd logs after it listens', async () => {
    const before = process.listenerCount('exit');
    const config = clientConfig(sshd.hostKey);
    for (let i = 0; i < 3; i++) expect(ssh(config, 'true').status).toBe(0);
    // spawnSync held the event loop: sshd's log lines of those logins are read now.
    await new Promise((r) => setTimeout(r, 500));
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('runs a command for the real ssh client with the demo login key and the pinned host key', () => {
    const r = ssh(clientConfig(sshd.hostKey), 'echo', 'hello from sshd');
    expect(r.stderr).not.toMatch(/verification failed/);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hello from sshd\n');
    // The remote command's exit status comes back.
    expect(ssh(clientConfig(sshd.hostKey), 'exit 3').status).toBe(3);
  });

  it('gives a PKCS#8 login key and an ECDSA P-256 host key (what the edge can use)', () => {
    expect(sshd.loginKey.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(sshd.loginKey.publicKey).toMatch(/^ecdsa-sha2-nistp256 AAAA[A-Za-z0-9+/=]+$/);
    expect(sshd.hostKey).toMatch(/^ecdsa-sha2-nistp256 AAAA[A-Za-z0-9+/=]+$/);
  });

  it('is refused by a client that pins another host key', () => {
    const other = join(dir, 'other');
    spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', other]);
    const wrong = spawnSync('ssh-keygen', ['-y', '-f', other], { encoding: 'utf8' }).stdout.trim();
    const r = ssh(clientConfig(wrong), 'echo', 'no');
    expect(r.status).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('keeps its keys when started again on the same folder', async () => {
    const again = await startDemoSshd({ dir: sshd.dir });
    try {
      expect(again.hostKey).toBe(sshd.hostKey);
      expect(again.loginKey.publicKey).toBe(sshd.loginKey.publicKey);
      expect(again.port).not.toBe(sshd.port);
    } finally {
      await again.stop();
    }
  });
});
