/**
 * An interactive shell on the console stack's demo sshd, through `postern ssh-proxy` and real
 * OpenSSH, recorded by the edge (docs/ssh.md): for cases that need a recording to play.
 */
import { expect } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, clientEnv, type TestStack } from '../harness.ts';

/**
 * Types `lines` into an interactive shell on the stack's demo sshd through `postern ssh-proxy`
 * (recorded: docs/ssh.md) and exits once the output contains `until`; the session's id.
 */
export async function recordedShell(stack: TestStack, lines: string, until: string): Promise<string> {
  const ssh = stack.ssh;
  if (!ssh || !('sshd' in ssh)) throw new Error('the console stack has no demo sshd');
  const conn = (await stack.admin.get(`/connections/${ssh.connection}`)) as { ssh: { hostKeys: string[] } };
  const known = join(stack.dir, 'known_hosts-attack');
  writeFileSync(known, conn.ssh.hostKeys.map((k) => `${ssh.connection}.postern ${k}\n`).join(''));
  const since = Date.now();
  const proxy = `${process.execPath} ${CLI} ssh-proxy ${ssh.connection} --edge ${stack.edgeUrl}`;
  const opts = {
    ProxyCommand: proxy,
    HostKeyAlias: `${ssh.connection}.postern`,
    UserKnownHostsFile: known,
    GlobalKnownHostsFile: '/dev/null',
    StrictHostKeyChecking: 'yes',
    BatchMode: 'yes',
    LogLevel: 'ERROR',
  };
  const args = ['-F', '/dev/null', '-tt', ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`])];
  const out = await new Promise<string>((resolve) => {
    const child = spawn('ssh', [...args, `${ssh.login}@${ssh.connection}.postern`], {
      env: { ...process.env, ...clientEnv(stack) },
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdin.write(lines);
    const answered = setInterval(() => {
      if (!text.includes(until)) return;
      clearInterval(answered);
      child.stdin.end('exit\n');
    }, 50);
    child.on('close', () => {
      clearTimeout(timer);
      clearInterval(answered);
      resolve(text);
    });
  });
  expect(out).toContain(until);
  for (let i = 0; i < 150; i++) {
    const r = (await stack.admin.get(`/sessions?connection=${ssh.connection}&state=ended&limit=20`)) as {
      sessions: Array<{ id: string; startedAt: string; audit: { events: number | null } }>;
    };
    const id = r.sessions.find((x) => Date.parse(x.startedAt) >= since - 1000 && x.audit.events !== null)?.id;
    if (id) {
      const ev = (await stack.admin.get(`/sessions/${id}/events`)) as { events: unknown[] };
      const s = (await stack.admin.get(`/sessions/${id}`)) as { audit: { events: number } };
      if (ev.events.length === s.audit.events) return id;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('the recorded session did not end');
}
