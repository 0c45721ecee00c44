/**
 * The SSH engine in Node with real parts on both sides: a TCP listener on 127.0.0.1 whose
 * connections each drive one `SshSession`, a real OpenSSH sshd as the target (started here,
 * on a port picked here, with host keys and authorized_keys in a temp dir), and the system's
 * OpenSSH client tools run against the listener.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type AddressInfo, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SshSession } from '../../../core/ssh/engine/session.ts';
import type {
  SshDecision,
  SshEnd,
  SshHeld,
  SshRecordEvent,
  SshRequest,
  SshSessionConfig,
} from '../../../core/ssh/engine/types.ts';

export const SSHD = '/usr/sbin/sshd';

export interface SessionLog {
  audit: { kind: string; event: Record<string, unknown> }[];
  records: { channel: number; event: SshRecordEvent }[];
  held: SshHeld[];
  end?: SshEnd;
  learned?: string;
  recorded?: number;
  session: SshSession;
}

export interface Gateway {
  port: number;
  sessions: SessionLog[];
  /** Policy for the next sessions. */
  decide: (r: SshRequest) => SshDecision | Promise<SshDecision>;
  config: Partial<SshSessionConfig>;
  close(): Promise<void>;
}

function keygen(dir: string, name: string, type: string, bits: number): { priv: string; pub: string } {
  const path = join(dir, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-b', String(bits), '-N', '', '-C', name, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  return { priv: readFileSync(path, 'utf8'), pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}

export interface Keys {
  dir: string;
  targetHost: { priv: string; pub: string };
  otherHost: { priv: string; pub: string };
  user: { priv: string; pub: string };
  gateway: { priv: string; pub: string };
}

export function makeKeys(): Keys {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ssh-'));
  return {
    dir,
    targetHost: keygen(dir, 'target_host', 'ecdsa', 256),
    otherHost: keygen(dir, 'other_host', 'ecdsa', 256),
    user: keygen(dir, 'user', 'ecdsa', 256),
    gateway: keygen(dir, 'gateway_host', 'ecdsa', 256),
  };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Sshd {
  port: number;
  login: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** A real sshd on 127.0.0.1, accepting `keys.user` for the current user. */
export async function startSshd(keys: Keys): Promise<Sshd> {
  const port = await freePort();
  const login = userInfo().username;
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  writeFileSync(join(keys.dir, 'authorized_keys'), keys.user.pub + '\n');
  const cfg = join(keys.dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(keys.dir, 'target_host')}`,
      `AuthorizedKeysFile ${join(keys.dir, 'authorized_keys')}`,
      `PidFile ${join(keys.dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      // Above the gateway's own bound (16 channels), so that is the one tests meet.
      'MaxSessions 64',
      'AcceptEnv LANG LC_*',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const proc = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  for (let i = 0; i < 100; i++) {
    if (log.includes('Server listening')) break;
    if (proc.exitCode !== null) throw new Error(`sshd exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    login,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** The gateway: each TCP connection is one SshSession relaying to `sshd`. */
export async function startGateway(
  keys: Keys,
  sshd: Sshd,
  credential = { privateKey: keys.user.priv },
): Promise<Gateway> {
  const sessions: SessionLog[] = [];
  const gw: Gateway = {
    port: 0,
    sessions,
    decide: () => 'allow',
    config: {},
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const target = connect(sshd.port, '127.0.0.1');
    sockets.add(target);
    const decide = gw.decide;
    const log = { audit: [], records: [], held: [] } as unknown as SessionLog;
    log.session = new SshSession(
      { hostKey: keys.gateway.priv, ...gw.config },
      {
        toClient: (b) => void client.write(b),
        toTarget: (b) => void target.write(b),
        end: (reason) => {
          log.end = reason;
          client.end();
          target.end();
        },
        decide: (r) => decide(r),
        held: (t) => log.held.push(t),
        audit: (kind, event) => log.audit.push({ kind, event }),
        // Bounded like a real recorder: 1 MiB of output/input per channel, then "full".
        record: (channel, event) => {
          log.records.push({ channel, event });
          if (event.type === 'i' || event.type === 'o')
            log.recorded = (log.recorded ?? 0) + event.data.length;
          return (log.recorded ?? 0) < 1 << 20;
        },
        hostKeyLearned: (k) => {
          log.learned = k;
        },
      },
    );
    sessions.push(log);
    client.on('data', (d: Buffer) =>
      log.session.clientData(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)),
    );
    client.on('close', () => log.session.clientClosed());
    client.on('error', () => undefined);
    target.on('connect', () => log.session.targetOpen(credential));
    target.on('data', (d: Buffer) =>
      log.session.targetData(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)),
    );
    target.on('close', () => log.session.targetClosed());
    target.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gw.port = (server.address() as AddressInfo).port;
  return gw;
}

export function knownHosts(keys: Keys, port: number, pub = keys.gateway.pub): string {
  const path = join(keys.dir, `known_hosts_${port}`);
  const [type, b64] = pub.split(/\s+/);
  writeFileSync(path, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  return path;
}

/** Options every ssh/scp/sftp run gets: no user config, the pinned gateway key, no agent. */
export function sshOptions(keys: Keys, port: number): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    `UserKnownHostsFile=${knownHosts(keys, port)}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=20',
  ];
}

export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string | Buffer, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

export function cleanup(keys: Keys): void {
  rmSync(keys.dir, { recursive: true, force: true });
}
