/**
 * The SSH rows of `postern bench` (issue 11 §4): the system's OpenSSH client against the demo
 * sshd (cli/dev/sshd.ts), directly and through Postern (the ProxyCommand `postern ssh-config`
 * writes: node and the bundled ssh-proxy → edge in Miniflare → SessionDO's SSH engine →
 * connector process → sshd), side by side in one run:
 *   - scp of one file both ways: MB/s (wall clock of the whole scp, connect included) and ratio;
 *   - connect + exec (`ssh host true`, token already fetched): p50/p99 and the added ms.
 * Both paths use the same client cipher (aes128-gcm@openssh.com, one the edge offers; OpenSSH's
 * default chacha20-poly1305 it does not, docs/ssh.md "Algorithms"), so the ratio is the path's.
 * While each transfer runs, the CPU of every process of the stack is sampled (proc-cpu.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../dev/stack.ts';
import { proxySpec, writeKnownHosts } from '../ssh/client-setup.ts';
import { hostOptions, sshHosts } from '../ssh/ssh-config.ts';
import { pct } from './pgbench.ts';
import { cpuLine, perMb, sampleCpu } from './proc-cpu.ts';

const CIPHER = 'aes128-gcm@openssh.com';
const MB = 1024 * 1024;

export interface SshRate {
  directMBps: number;
  viaMBps: number;
  ratio: number;
  /** What ssh itself reports for the session after login ("Bytes per second", LogLevel VERBOSE). */
  directSessionMBps: number;
  viaSessionMBps: number;
  /** CPU ms per MB moved, per process of the stack, through Postern. */
  viaCpuMsPerMb: Record<string, number>;
  directCpuMsPerMb: Record<string, number>;
}

export type SshBench =
  | { unavailable: string }
  | {
      megabytes: number;
      clientCipher: string;
      loadAverage: { before: number[]; after: number[] };
      scpUpload: SshRate;
      scpDownload: SshRate;
      targetViaMBps: number;
      connectExec: {
        samples: number;
        directP50Ms: number;
        directP99Ms: number;
        viaP50Ms: number;
        viaP99Ms: number;
        addedP50Ms: number;
        /** Of the added time: starting the shipped proxy (node + the bundle), before any byte moves. */
        proxyStartP50Ms: number;
        targetAddedP50Ms: number;
      };
    };

interface Run {
  code: number | null;
  ms: number;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 65_536) stderr += d.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, ms: performance.now() - t0, stderr }));
  });
}

function ok(r: Run, what: string): Run {
  if (r.code !== 0) {
    const why = r.stderr.split('\n').filter((l) => !/^(Authenticated|Transferred|Bytes per)/.test(l));
    throw new Error(`${what} exited ${r.code}: ${why.join(' ').trim().slice(0, 500)}`);
  }
  return r;
}

/** ssh's own session rate (clientloop.c, verbose "Bytes per second: sent S, received R"). */
function sessionRate(stderr: string, dir: 'sent' | 'received'): number {
  const m = /Bytes per second: sent ([\d.]+), received ([\d.]+)/.exec(stderr);
  return m ? Number(dir === 'sent' ? m[1] : m[2]) / MB : NaN;
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** The stack's processes by hop, for the CPU table. */
function hop(comm: string, cmdline: string): string {
  // By comm first: ssh's own command line holds the ProxyCommand (and so "ssh-proxy").
  if (comm === 'ssh' || comm === 'scp') return 'ssh + scp';
  if (comm === 'sshd') return 'sshd';
  if (comm === 'workerd') return 'edge (workerd)';
  if (comm === 'postgres') return 'postgres';
  if (/ssh-proxy(\.mjs)? /.test(cmdline)) return 'postern ssh-proxy';
  if (cmdline.includes(' connector ')) return 'connector';
  if (cmdline.includes(' bench')) return 'bench (OIDC, Miniflare host)';
  return `other (${comm})`;
}

/**
 * Measures the SSH rows against the stack's demo SSH target. Resolves to why not when the
 * stack has no demo sshd (not installed, or the edge refused the connection).
 */
export async function measureSsh(
  stack: Stack,
  token: string,
  o: { dir: string; megabytes: number; samples: number; say: (m: string) => void },
): Promise<SshBench> {
  const demo = stack.ssh;
  if (!demo) return { unavailable: 'the stack was started without SSH' };
  if ('unavailable' in demo) return { unavailable: demo.unavailable };
  for (const tool of ['ssh', 'scp'])
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error)
      return { unavailable: `${tool} not found (install openssh-client)` };
  const { sshd, login, connection } = demo;

  // The gateway host keys, read through the same parser `postern ssh-config` uses.
  const row = await stack.admin.get<Record<string, unknown>>(`/connections/${connection}`);
  const host = sshHosts({ connections: [row] }).hosts[0];
  if (!host) return { unavailable: `the edge sent no usable gateway host key for "${connection}"` };

  const viaKnown = join(o.dir, 'known_hosts-via');
  writeKnownHosts(viaKnown, [host]);
  const directKnown = join(o.dir, 'known_hosts-direct');
  writeFileSync(directKnown, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
  const common = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    `Ciphers=${CIPHER}`,
    '-o',
    'LogLevel=VERBOSE',
  ];
  // The ProxyCommand as `postern ssh-config` and `postern ssh` write it.
  const spec = await proxySpec({}, stack.edgeUrl);
  const paths = {
    direct: {
      args: [
        ...common,
        ...['-o', `Port=${sshd.port}`, '-o', `UserKnownHostsFile=${directKnown}`],
        ...[
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          sshd.loginKey.privateKeyFile,
        ],
      ],
      host: `${login}@127.0.0.1`,
    },
    via: {
      args: [...common, ...hostOptions(host, spec, viaKnown).flatMap(([k, v]) => ['-o', `${k}=${v}`])],
      host: `${login}@${host.alias}`,
    },
  };
  // The proxy reads the token from its environment, as `postern ssh` passes it.
  const env = { ...process.env, POSTERN_TOKEN: token };
  const loadBefore = loadavg();

  const src = join(o.dir, 'ssh-bench.bin');
  const fd = openSync(src, 'w');
  for (let i = 0; i < o.megabytes; i++) writeSync(fd, randomBytes(MB));
  closeSync(fd);
  const want = await sha256(src);

  const transfer = async (path: 'direct' | 'via', up: boolean) => {
    const p = paths[path];
    const remote = join(o.dir, `remote-${path}.bin`);
    const local = join(o.dir, `back-${path}.bin`);
    const [from, to] = up ? [src, `${p.host}:${remote}`] : [`${p.host}:${src}`, local];
    const cpu = sampleCpu(hop);
    const r = ok(await run('scp', [...p.args, from, to], env), `scp ${up ? 'up' : 'down'} (${path})`);
    const cpuMs = cpu.stop();
    const landed = up ? remote : local;
    if ((await sha256(landed)) !== want) throw new Error(`scp ${path}: the copy differs from the file`);
    rmSync(landed);
    return {
      mbps: o.megabytes / (r.ms / 1000),
      session: sessionRate(r.stderr, up ? 'sent' : 'received'),
      cpu: perMb(cpuMs, o.megabytes),
    };
  };
  const rate = async (up: boolean): Promise<SshRate> => {
    o.say(`scp ${o.megabytes} MB ${up ? 'up' : 'down'}: direct, then via Postern…`);
    const d = await transfer('direct', up);
    const v = await transfer('via', up);
    return {
      directMBps: d.mbps,
      viaMBps: v.mbps,
      ratio: v.mbps / d.mbps,
      directSessionMBps: d.session,
      viaSessionMBps: v.session,
      viaCpuMsPerMb: v.cpu,
      directCpuMsPerMb: d.cpu,
    };
  };
  const scpUpload = await rate(true);
  const scpDownload = await rate(false);
  rmSync(src);

  o.say(`connect + exec: ssh host true, ${o.samples} times each, alternating…`);
  const times = { direct: [] as number[], via: [] as number[] };
  const starts: number[] = [];
  const sample = async (p: { args: string[]; host: string }, what: string) =>
    ok(await run('ssh', [...p.args, p.host, 'true'], env), `ssh true (${what})`).ms;
  for (let i = 0; i < o.samples; i++) {
    times.direct.push(await sample(paths.direct, 'direct'));
    times.via.push(await sample(paths.via, 'via Postern'));
  }
  // What the ProxyCommand costs before it sends a byte: node starting the proxy and exiting.
  const [node, ...proxyArgs] = spec.proxy;
  for (let i = 0; i < Math.min(o.samples, 5); i++)
    starts.push(ok(await run(node!, [...proxyArgs, '--help'], env), 'ssh-proxy --help').ms);

  return {
    megabytes: o.megabytes,
    clientCipher: CIPHER,
    loadAverage: { before: loadBefore, after: loadavg() },
    scpUpload,
    scpDownload,
    targetViaMBps: 25,
    connectExec: {
      samples: o.samples,
      directP50Ms: pct(times.direct, 50),
      directP99Ms: pct(times.direct, 99),
      viaP50Ms: pct(times.via, 50),
      viaP99Ms: pct(times.via, 99),
      addedP50Ms: pct(times.via, 50) - pct(times.direct, 50),
      proxyStartP50Ms: pct(starts, 50),
      targetAddedP50Ms: 300,
    },
  };
}

/** The SSH rows of the printed table. */
export function sshTable(r: SshBench): string {
  if ('unavailable' in r) return `\nSSH rows skipped: ${r.unavailable}\n`;
  const f = (n: number, d = 1) => n.toFixed(d);
  const c = r.connectExec;
  const cpu = cpuLine;
  const mb = `scp ${r.megabytes} MB`;
  return `
SSH (OpenSSH ${CIPHER}, demo sshd)   direct        via Postern    ratio / added   target
${`${mb} up (MB/s)`.padEnd(35)}${f(r.scpUpload.directMBps).padStart(10)}   ${f(r.scpUpload.viaMBps).padStart(12)}   ${f(r.scpUpload.ratio, 2).padStart(10)}x     >= ${r.targetViaMBps} MB/s
${`${mb} down (MB/s)`.padEnd(35)}${f(r.scpDownload.directMBps).padStart(10)}   ${f(r.scpDownload.viaMBps).padStart(12)}   ${f(r.scpDownload.ratio, 2).padStart(10)}x     >= ${r.targetViaMBps} MB/s
  ssh's own session rate, up/down  ${`${f(r.scpUpload.directSessionMBps)}/${f(r.scpDownload.directSessionMBps)}`.padStart(10)}   ${`${f(r.scpUpload.viaSessionMBps)}/${f(r.scpDownload.viaSessionMBps)}`.padStart(12)}
connect + exec p50 (ms)            ${f(c.directP50Ms, 0).padStart(10)}   ${f(c.viaP50Ms, 0).padStart(12)}   ${('+' + f(c.addedP50Ms, 0)).padStart(10)}ms    <= +${c.targetAddedP50Ms}ms
connect + exec p99 (ms)            ${f(c.directP99Ms, 0).padStart(10)}   ${f(c.viaP99Ms, 0).padStart(12)}
  of it, starting the ssh-proxy bundle             ${f(c.proxyStartP50Ms, 0).padStart(8)}

CPU ms per MB through Postern (up):   ${cpu(r.scpUpload.viaCpuMsPerMb)}
CPU ms per MB through Postern (down): ${cpu(r.scpDownload.viaCpuMsPerMb)}
CPU ms per MB direct (up):            ${cpu(r.scpUpload.directCpuMsPerMb)}
load average before/after the SSH rows: ${r.loadAverage.before.map((n) => f(n, 2)).join(' ')} / ${r.loadAverage.after.map((n) => f(n, 2)).join(' ')}
`;
}
