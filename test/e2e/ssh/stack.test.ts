/**
 * SSH through the whole stack (issue 11 §3-4) with the real OpenSSH client and a real sshd:
 * `ssh` with `ProxyCommand postern ssh-proxy` reaches the SessionDO (the SSH protocol module,
 * core/ssh/ssh-module.ts), which logs in to the target through the connector with the injected
 * key. Ground truth is read from the target's file system.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshWorld, type SshWorld } from './stack-harness.ts';

let w: SshWorld;
let keys: string[];
const CONN = 'ssh-e2e';

beforeAll(async () => {
  w = await sshWorld();
  keys = await w.addConnection(CONN);
});

afterAll(async () => {
  await w?.stop();
});

const ssh = (args: string[], input?: string) =>
  w.run('ssh', [...w.sshArgs(CONN, keys), ...args], input !== undefined ? { input } : {});

describe('ssh through the edge', () => {
  it('runs a command and returns its output and exit status', async () => {
    const ok = await ssh([`${w.sshd.login}@${CONN}`, 'echo hello-from-target; exit 3']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('hello-from-target\n');
    expect(ok.code).toBe(3);
  });

  it('refuses a command policy forbids: it never runs on the target', async () => {
    const marker = join(w.sshd.dir, 'forbidden-marker');
    rmSync(marker, { force: true });
    const r = await ssh([`${w.sshd.login}@${CONN}`, `touch ${marker}`]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/postern: .*commands naming forbidden files are not run here/);
    expect(existsSync(marker)).toBe(false);
  });
});
