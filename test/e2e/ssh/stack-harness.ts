/**
 * The whole stack with an SSH target (issue 11 §3-4): the test stack (embedded Postgres, the
 * real OpenID provider, Miniflare), a real sshd started here on a port picked here, a real
 * `postern connector` process allowed to reach it, SSH connections created through the admin
 * API, and the system's OpenSSH tools run with `ProxyCommand postern ssh-proxy` and
 * `StrictHostKeyChecking yes` against the connection's gateway host key.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDemoSshd, type DemoSshd } from '../../../cli/dev/sshd.ts';
import {
  CLI,
  clientEnv,
  fetchToken,
  startConnectorProcess,
  startTestStack,
  type Proc,
  type RunResult,
  type TestStack,
  waitFor,
} from '../harness.ts';

export interface SshWorld {
  stack: TestStack;
  sshd: DemoSshd;
  connector: Proc;
  tokens: { approver: string };
  /** Creates an SSH connection to the test's sshd; returns its gateway host keys. */
  addConnection(
    name: string,
    opts?: { targetHostKey?: string | null; policy?: string; masking?: unknown },
  ): Promise<string[]>;
  /** ssh options reaching `connection` through the edge, its gateway key pinned. */
  sshArgs(connection: string, hostKeys: string[]): string[];
  run(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /**
   * The first session of `connection` that started at or after `since` (take the time before the
   * test runs its client: records of earlier sessions may still be on their way), once it ended
   * and all its audit events reached the control plane.
   */
  lastSession(connection: string, since: Date): Promise<{ id: string; events: AuditRow[] }>;
  api(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export interface AuditRow {
  seq: number;
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
}

export async function sshWorld(): Promise<SshWorld> {
  const stack = await startTestStack({ connector: false });
  const sshd = await startDemoSshd({ dir: join(stack.dir, 'sshd') });
  const connector = startConnectorProcess(stack, 'ssh-replica', [`127.0.0.1:${sshd.port}`]);
  await stack.admin.waitForReplicas('local', 1, 30_000);
  const approver = await fetchToken(stack, stack.approverClientId, stack.approverClientSecret);
  const env = { ...process.env, ...clientEnv(stack) };
  const run: SshWorld['run'] = (cmd, args, opts = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  return {
    stack,
    sshd,
    connector,
    tokens: { approver },
    async addConnection(name, opts = {}) {
      const pin = opts.targetHostKey === undefined ? sshd.hostKey : opts.targetHostKey;
      const created = await stack.admin.post<{ ssh: { hostKeys: string[] } }>('/connections', {
        name,
        protocol: 'ssh',
        connector: 'local',
        target: { host: '127.0.0.1', port: sshd.port, tls: 'none' },
        credential: { privateKey: sshd.loginKey.privateKeyPem },
        ...(pin ? { ssh: { targetHostKey: pin } } : {}),
        ...(opts.masking ? { masking: opts.masking } : {}),
        allow: { subjects: [], groups: [] },
      });
      await stack.admin.put(`/connections/${name}/policies/rules`, { text: opts.policy ?? POLICY });
      return created.ssh.hostKeys;
    },
    sshArgs(connection, hostKeys) {
      const known = join(stack.dir, `known_hosts-${connection}`);
      writeFileSync(known, hostKeys.map((k) => `${connection}.postern ${k}\n`).join(''));
      const proxy = `${process.execPath} ${CLI} ssh-proxy ${connection} --edge ${stack.edgeUrl}`;
      return [
        '-F',
        '/dev/null',
        '-o',
        `ProxyCommand=${proxy}`,
        '-o',
        `HostKeyAlias=${connection}.postern`,
        '-o',
        `UserKnownHostsFile=${known}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'LogLevel=ERROR',
      ];
    },
    run,
    async lastSession(connection, since) {
      type S = { id: string; startedAt: string; endedAt: string | null; audit: { events: number | null } };
      let found: { id: string; events: AuditRow[] } | undefined;
      await waitFor(
        async () => {
          const page = await stack.admin.get<{ sessions: S[] }>(
            `/sessions?connection=${connection}&limit=20`,
          );
          // Oldest first among those that started since (the clocks are this machine's).
          const s = page.sessions.filter((x) => Date.parse(x.startedAt) >= since.getTime()).at(-1);
          if (!s || !s.endedAt || s.audit.events === null) return false;
          const { events } = await stack.admin.get<{ events: AuditRow[] }>(`/sessions/${s.id}/events`);
          found = { id: s.id, events };
          return events.length === s.audit.events;
        },
        90_000,
        `the last session of ${connection} and its audit events in the control plane`,
      );
      return found!;
    },
    async api(token, method, path, body) {
      const res = await fetch(`${stack.edgeUrl}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async stop() {
      await connector.stop();
      await sshd.stop();
      await stack.cleanup();
    },
  };
}

/**
 * The tests' policy: the demo group logs in, runs shells, pty, sftp and commands, forwards to
 * the stack's Postgres; a command naming "forbidden" is refused, one naming "approve-me" waits
 * for a DBA; SFTP reads and writes in or of a directory named sftp-forbidden are refused.
 */
export const POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"ssh:login", Postern::Action::"ssh:shell",
  Postern::Action::"ssh:pty", Postern::Action::"ssh:sftp", Postern::Action::"ssh:sftp_read",
  Postern::Action::"ssh:sftp_write", Postern::Action::"ssh:port_forward"
], resource);

permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:exec", resource)
  unless { context.command like "*approve-me*" };

@reason("commands naming forbidden files are not run here")
forbid(principal, action == Postern::Action::"ssh:exec", resource)
  when { context.command like "*forbidden*" };

@approval("dba")
@approval_timeout("2m")
permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:exec", resource)
  when { context.command like "*approve-me*" };

@reason("the sftp-forbidden directory is off limits")
forbid(principal, action in [Postern::Action::"ssh:sftp_read", Postern::Action::"ssh:sftp_write"], resource)
  when { context.path like "*/sftp-forbidden/*" || context.path like "*/sftp-forbidden" };
`;
