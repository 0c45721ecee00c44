import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { startDemoSshd, type DemoSshd } from '../dev/sshd.ts';
import { pumpWsTcp } from '../../node-shared/ws-tcp-pump.ts';
import { PROXY_BUNDLE } from './proxy-bundle.ts';
import { shQuote } from '../shell-quote.ts';

// The client side of SSH through Postern with the real OpenSSH tools (ssh, scp, sftp, rsync,
// ssh -L) and a real sshd, through `postern ssh` / `ssh-config` / `ssh-proxy` processes. The edge
// here is a stand-in that lists one SSH connection whose "gateway host key" is the sshd's own and
// pipes the WebSocket's bytes to the sshd: the client authenticates to the sshd itself (from an
// ssh-agent), since the stand-in does not terminate SSH as the real edge does (e2e tests).
// Each `postern` process costs ~0.6 s of CPU to start (tsx); the proxy ssh starts is the bundle.
vi.setConfig({ testTimeout: 60_000 });

const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'bin', 'postern.mjs');
const TOKEN = 'tkn-for-tests';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let sshd: DemoSshd;
let agent: ChildProcess;
let edgeUrl: string;
let http: Server;
let echo: TcpServer;
let env: NodeJS.ProcessEnv;
/** The host key the stand-in edge announces for demo-ssh (the sshd's, unless a test changes it). */
let announcedKey: string;
const upgrades: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-sshcli-'));
  sshd = await startDemoSshd({ dir: join(dir, 'sshd') });
  announcedKey = sshd.hostKey;

  const sock = join(dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 20));
  const add = spawnSync('ssh-add', [sshd.loginKey.privateKeyFile], {
    env: { ...process.env, SSH_AUTH_SOCK: sock },
    encoding: 'utf8',
  });
  if (add.status !== 0) throw new Error(`ssh-add: ${add.stderr}`);

  http = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end('{}');
    if (req.url !== '/api/v1/me/connections') return res.writeHead(404).end('{}');
    res.end(
      JSON.stringify({
        connections: [
          { name: 'demo', protocol: 'postgres' },
          { name: 'demo-ssh', protocol: 'ssh', ssh: { hostKeys: [announcedKey] } },
        ],
      }),
    );
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (req, socket, head) => {
    upgrades.push(`${req.url} ${req.headers.authorization}`);
    if (req.url !== '/v1/connect/demo-ssh' || req.headers.authorization !== `Bearer ${TOKEN}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const target = connect(sshd.port, '127.0.0.1');
      pumpWsTcp(ws, target);
      target.on('close', () => ws.close(1000));
      target.on('error', () => ws.close(1011));
      ws.on('close', () => target.destroy());
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  edgeUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;

  // What ssh -L forwards to: a TCP echo server on 127.0.0.1 (reached by the sshd).
  echo = createTcpServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');

  env = {
    ...process.env,
    SSH_AUTH_SOCK: sock,
    POSTERN_TOKEN: TOKEN,
    POSTERN_EDGE: edgeUrl,
    POSTERN_CONFIG_DIR: join(dir, 'postern-config'),
  };
});

afterAll(async () => {
  agent?.kill();
  echo?.close();
  http?.closeAllConnections();
  http?.close();
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], opts: { input?: string; cwd?: string } = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { env, cwd: opts.cwd ?? dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}
const postern = (...args: string[]) => run(process.execPath, [CLI, ...args]);

describe('postern ssh', () => {
  it('runs a command through the edge, pinning the gateway key, and passes its status back', async () => {
    const r = await postern('ssh', 'demo-ssh', '--', 'echo', 'through', 'postern');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('through postern\n');
    expect(r.status).toBe(0);
    expect(upgrades.at(-1)).toBe(`/v1/connect/demo-ssh Bearer ${TOKEN}`);
    const known = readFileSync(join(dir, 'postern-config', 'known_hosts'), 'utf8');
    expect(known).toBe(`demo-ssh.postern ${sshd.hostKey}\n`);
    expect((await postern('ssh', 'demo-ssh', '--', 'exit 42')).status).toBe(42);
  });

  it('refuses a server whose host key is not the one the edge announced (exit 255)', async () => {
    const other = join(dir, 'other-host-key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', other]);
    announcedKey = readFileSync(`${other}.pub`, 'utf8').trim();
    try {
      const r = await postern('ssh', 'demo-ssh', '--known-hosts', join(dir, 'kh-other'), '--', 'echo', 'x');
      expect(r.status).toBe(255);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      announcedKey = sshd.hostKey;
    }
  });

  it('says which connections exist when asked for one that is not SSH', async () => {
    const r = await postern('ssh', 'demo', '--', 'true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('"demo" is not an SSH connection you may use');
  });
});

describe('postern ssh-config', () => {
  it('writes Host blocks that scp, sftp, rsync -e ssh and ssh -L use unchanged', async () => {
    const known = join(dir, 'kh-config');
    writeFileSync(known, 'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeep\n');
    const r = await postern('ssh-config', '--known-hosts', known);
    expect(r.status, r.stderr).toBe(0);
    const config = join(dir, 'ssh_config');
    writeFileSync(config, r.stdout);
    expect(r.stdout).toContain('Host demo-ssh.postern\n');
    // ssh runs the bundled proxy with this node, by absolute paths (no tsx on each connection).
    expect(r.stdout).toContain(
      `  ProxyCommand ${shQuote(process.execPath)} ${shQuote(PROXY_BUNDLE)} --edge ${edgeUrl} demo-ssh\n`,
    );
    expect(r.stdout).not.toContain('Host demo.postern'); // a Postgres connection
    expect(readFileSync(known, 'utf8')).toBe(
      `other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeep\ndemo-ssh.postern ${sshd.hostKey}\n`,
    );
    // Run again: nothing changes (idempotent).
    const again = await postern('ssh-config', '--known-hosts', known, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ knownHostsChanged: false, config: r.stdout });

    const ssh = ['-F', config, '-o', 'BatchMode=yes'];
    const exec = await run('ssh', [...ssh, 'demo-ssh.postern', 'echo', 'ok']);
    expect(exec.stdout, exec.stderr).toBe('ok\n');

    // scp, both ways, 2 MB
    const up = randomBytes(2 * 1024 * 1024);
    writeFileSync(join(dir, 'up.bin'), up);
    const remote = join(dir, 'remote');
    expect((await run('scp', [...ssh, 'up.bin', `demo-ssh.postern:${remote}-scp.bin`])).status).toBe(0);
    expect((await run('scp', [...ssh, `demo-ssh.postern:${remote}-scp.bin`, 'down.bin'])).status).toBe(0);
    expect(sha(readFileSync(`${remote}-scp.bin`))).toBe(sha(up));
    expect(sha(readFileSync(join(dir, 'down.bin')))).toBe(sha(up));

    // sftp: put, ls, get, rm
    const batch = [
      `put up.bin ${remote}-sftp.bin`,
      `ls ${remote}-sftp.bin`,
      `get ${remote}-sftp.bin back.bin`,
      `rm ${remote}-sftp.bin`,
    ].join('\n');
    const sftp = await run('sftp', [...ssh, '-b', '-', 'demo-ssh.postern'], { input: batch + '\n' });
    expect(sftp.status, sftp.stderr).toBe(0);
    expect(sftp.stdout).toContain(`${remote}-sftp.bin`);
    expect(sha(readFileSync(join(dir, 'back.bin')))).toBe(sha(up));
    expect(existsSync(`${remote}-sftp.bin`)).toBe(false);

    // rsync -e ssh
    const rsync = await run('rsync', [
      '-e',
      `ssh ${ssh.join(' ')}`,
      'up.bin',
      `demo-ssh.postern:${remote}-rsync.bin`,
    ]);
    expect(rsync.status, rsync.stderr).toBe(0);
    expect(sha(readFileSync(`${remote}-rsync.bin`))).toBe(sha(up));

    // ssh -L: a local port through the SSH session to a TCP server beside the target
    const localPort = await new Promise<number>((resolve) => {
      const s = createTcpServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const echoPort = (echo.address() as { port: number }).port;
    const fwd = spawn(
      'ssh',
      [
        ...ssh,
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `${localPort}:127.0.0.1:${echoPort}`,
        'demo-ssh.postern',
      ],
      { env, stdio: 'ignore' },
    );
    try {
      const reply = await forwardedEcho(localPort, 'ping through -L');
      expect(reply).toBe('ping through -L');
    } finally {
      fwd.kill();
    }
  }, 90_000);
});

/** Connects to the forwarded port (retrying until ssh listens) and reads the echo. */
async function forwardedEcho(port: number, text: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (d) => {
          got += d;
          if (got.length >= text.length) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
      });
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
