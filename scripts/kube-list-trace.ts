// Where one masked Secret list waits on its way through Postern (issue 13, docs/performance.md
// "The Secret list path, profiled"): one stack (edge in Miniflare, connector process, the
// STAND-IN API server of test/kube/), the bench's 2,000 Secrets, then
//   1. READS reads alternating direct and via Postern on keep-alive connections: p50 wall per
//      read each side and the ratio (alternating, so the machine's load drifts into both alike),
//      and CPU ms per read of each process (/proc);
//   2. one via read traced per hop: the client and the stand-in timestamp themselves (this
//      process), the connector and workerd are watched with `strace -ttt` (socket reads and
//      writes; strace slows each syscall, so read the ORDER and the gaps, not the totals).
// Run: node --import tsx scripts/kube-list-trace.ts   env: READS (default 10), SECRETS (2000),
// NO_STRACE=1 to skip step 2. Prints the load average with every number.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stackToken, startStack } from '../cli/dev/stack.ts';
import { BENCH_SECRETS_NAMESPACE, seedBenchObjects } from '../cli/bench/kube.ts';
import { cpuMs, findPid } from '../cli/bench/proc.ts';

const ROOT = resolve(import.meta.dirname, '..');
const READS = Number(process.env.READS ?? 10);
const SECRETS = Number(process.env.SECRETS ?? 2000);
const now = () => performance.timeOrigin + performance.now(); // epoch ms, µs resolution
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

const dir = mkdtempSync(join(tmpdir(), 'kube-trace-'));
const stack = await startStack({
  root: ROOT,
  stateDir: join(dir, 'state'),
  reuse: false,
  connector: 'process',
  kube: true,
  log: () => {},
});
try {
  const demo = stack.kube;
  if (!demo || 'unavailable' in demo) throw new Error(`no demo cluster: ${demo?.unavailable}`);
  const { standIn, connection, front } = demo;
  seedBenchObjects(standIn, 0, SECRETS);
  const token = await stackToken(stack);
  const path = `/api/v1/namespaces/${BENCH_SECRETS_NAMESPACE}/secrets`;
  const sides = {
    direct: { url: `${standIn.url}${path}`, ca: standIn.caPem, auth: standIn.token },
    via: { url: `${front.url}/v1/kube/${connection}${path}`, ca: front.caPem, auth: token },
  };
  type Side = keyof typeof sides;
  const agents = {
    direct: new Agent({ keepAlive: true, maxSockets: 1, ca: sides.direct.ca }),
    via: new Agent({ keepAlive: true, maxSockets: 1, ca: sides.via.ca }),
  };
  // The stand-in's side of each request: when it arrived, when its response was written.
  let standInSeen: { arrived: number; finished?: number } | undefined;
  standIn.hostile = (_req, res) => {
    const seen = { arrived: now() } as { arrived: number; finished?: number };
    standInSeen = seen;
    res.on('finish', () => (seen.finished = now()));
    return false;
  };
  const read = (side: Side) =>
    new Promise<{ sent: number; head: number; first: number; last: number; bytes: number }>((ok, fail) => {
      const s = sides[side];
      const t = { sent: now(), head: 0, first: 0, last: 0, bytes: 0 };
      const req = httpsRequest(
        s.url,
        { agent: agents[side], headers: { Accept: 'application/json', Authorization: `Bearer ${s.auth}` } },
        (res) => {
          t.head = now();
          res.on('data', (c: Buffer) => {
            if (t.first === 0) t.first = now();
            t.bytes += c.byteLength;
          });
          res.on('end', () => {
            t.last = now();
            if (res.statusCode !== 200) fail(new Error(`${side}: HTTP ${res.statusCode}`));
            else ok(t);
          });
        },
      );
      req.on('error', fail);
      req.end();
    });

  const pids = {
    workerd: findPid(`entry=127.0.0.1:${stack.ports.edge}`)!,
    connector: findPid(`connector\0--edge\0${stack.edgeUrl}\0`)!,
    bench: process.pid,
  };
  await read('direct');
  await read('via');
  await read('via'); // the session and its channel are up; the masker's code is warm
  const wall: Record<Side, number[]> = { direct: [], via: [] };
  // Per read, ms after the client sent it: the stand-in got it, wrote it all; the client got the head, the end.
  const marks: Record<Side, Record<string, number[]>> = { direct: {}, via: {} };
  const mark = (side: Side, name: string, ms: number | undefined) =>
    ms !== undefined && (marks[side][name] ??= []).push(ms);
  const cpu: Record<Side, Record<string, number>> = { direct: {}, via: {} };
  const load0 = load();
  // PERF=workerd|connector: `perf record -g` of that process during the reads (dist/perf-<name>.data).
  const perfName = process.env.PERF as keyof typeof pids | undefined;
  const perf = perfName
    ? spawn(
        'perf',
        [
          'record',
          '-F',
          '999',
          '-g',
          '-o',
          join(ROOT, 'dist', `perf-${perfName}.data`),
          '-p',
          String(pids[perfName]),
        ],
        {
          stdio: 'ignore',
        },
      )
    : undefined;
  for (let i = 0; i < READS; i++) {
    for (const side of ['direct', 'via'] as const) {
      const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMs(p) ?? 0]));
      const t = await read(side);
      wall[side].push(t.last - t.sent);
      mark(side, 'stand-in got the request', standInSeen!.arrived - t.sent);
      mark(side, 'stand-in wrote the response', standInSeen!.finished! - t.sent);
      mark(side, 'client got the head', t.head - t.sent);
      mark(side, 'client got the last byte', t.last - t.sent);
      for (const [k, p] of Object.entries(pids))
        cpu[side][k] = (cpu[side][k] ?? 0) + ((cpuMs(p) ?? 0) - before[k]!) / READS;
    }
  }
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('exit', r));
  }
  const p50 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const listMb = (await read('direct')).bytes / (1024 * 1024);
  console.log(`\nSecret list of ${SECRETS} (${listMb.toFixed(2)} MB), ${READS} reads each side, alternating`);
  console.log(`load average before: ${load0}; after: ${load()}`);
  for (const side of ['direct', 'via'] as const)
    console.log(
      `${side.padEnd(6)} p50 ${p50(wall[side]).toFixed(1)} ms (${(listMb / (p50(wall[side]) / 1000)).toFixed(1)} MB/s)  ` +
        `CPU ms per read: ${Object.entries(cpu[side])
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
    );
  console.log(`ratio via/direct (p50 MB/s): ${(p50(wall.direct) / p50(wall.via)).toFixed(2)}x`);
  console.log('p50 ms after the client sent the request (no strace):');
  for (const name of Object.keys(marks.via))
    console.log(
      `  ${name.padEnd(28)} direct ${p50(marks.direct[name]!).toFixed(1).padStart(6)}   via ${p50(marks.via[name]!).toFixed(1).padStart(6)}`,
    );

  if (process.env.NO_STRACE) process.exit(0);
  // ---- one via read, per hop -----------------------------------------------------------------
  const ports = {
    standIn: Number(new URL(standIn.url).port),
    edge: stack.ports.edge,
    front: front.port,
  };
  const traces = Object.fromEntries(
    (['workerd', 'connector'] as const).map((name) => {
      const file = join(dir, `${name}.strace`);
      const p = spawn(
        'strace',
        [
          '-f',
          '-ttt',
          '-s',
          '0',
          '-e',
          'signal=none',
          '-e',
          'trace=read,write,writev,readv,sendmsg,recvmsg,sendto,recvfrom,fsync,fdatasync',
          '-o',
          file,
          '-p',
          String(pids[name]),
        ],
        { stdio: 'ignore' },
      );
      return [name, { file, p }];
    }),
  );
  await new Promise((r) => setTimeout(r, 1500)); // strace attaches to every thread
  const t = await read('via');
  await new Promise((r) => setTimeout(r, 300));
  for (const { p } of Object.values(traces)) p.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 500));
  const rel = (ms: number | undefined) =>
    ms === undefined ? '-' : `${(ms - t.sent).toFixed(1)}`.padStart(7);
  console.log(`\nOne via read, ms after the client sent it (load average ${load()}; strace attached):`);
  console.log(`${rel(t.sent)}  client sent the request`);
  console.log(`${rel(standInSeen?.arrived)}  stand-in got it`);
  console.log(`${rel(standInSeen?.finished)}  stand-in wrote the whole response`);
  for (const [name, { file }] of Object.entries(traces)) {
    const pid = pids[name as keyof typeof pids];
    for (const row of socketActivity(file, pid, ports, t.sent - 5, t.last + 50))
      console.log(
        `${rel(row.first)} … ${rel(row.last)}  ${name} ${row.dir} ${row.what}: ${row.bytes} B in ${row.calls} calls`,
      );
  }
  // The SessionDO's storage commits (the write-ahead audit: nothing is forwarded before them).
  for (const line of readFileSync(traces['workerd']!.file, 'utf8').split('\n')) {
    const m = /^(?:\d+\s+)?(\d+\.\d+) (fsync|fdatasync)\(/.exec(line);
    const at = m ? Number(m[1]) * 1000 : NaN;
    if (at >= t.sent && at <= t.last) console.log(`${rel(at)}  workerd ${m![2]} (a storage commit)`);
  }
  console.log(`${rel(t.head)}  client got the head`);
  console.log(`${rel(t.first)}  client got the first body byte`);
  console.log(`${rel(t.last)}  client got the last (${t.bytes} B, masked)`);
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);

/** socket inode → [local port, remote port], from /proc/net/tcp (and tcp6). */
function tcpPorts(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      const port = (a: string) => parseInt(a.split(':')[1]!, 16);
      out.set(c[9]!, [port(c[1]!), port(c[2]!)]);
    }
  }
  return out;
}

/** What each of `pid`'s sockets is, by the ports at its ends. */
function socketNames(pid: number, ports: { standIn: number; edge: number; front: number }) {
  const inodes = tcpPorts();
  const names = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link = '';
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const p = m && inodes.get(m[1]!);
    if (!p) continue;
    const [local, remote] = p;
    if (remote === ports.standIn) names.set(Number(fd), 'to/from the stand-in');
    else if (remote === ports.edge) names.set(Number(fd), 'to/from the edge (channel)');
    else if (local === ports.edge) names.set(Number(fd), `edge socket, peer :${remote}`);
  }
  return names;
}

function socketActivity(
  file: string,
  pid: number,
  ports: { standIn: number; edge: number; front: number },
  from: number,
  to: number,
) {
  const names = socketNames(pid, ports);
  const rows = new Map<
    string,
    { first: number; last: number; bytes: number; calls: number; dir: string; what: string }
  >();
  const re =
    /^(?:\d+\s+)?(\d+\.\d+) (read|write|writev|readv|sendmsg|recvmsg|sendto|recvfrom)\((\d+),.*= (\d+)/;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    if (at < from || at > to) continue;
    const what = names.get(Number(m[3]));
    if (!what) continue;
    const dir = /read|recv/.test(m[2]!) ? 'reads' : 'writes';
    const key = `${what} ${dir}`;
    const r = rows.get(key) ?? { first: at, last: at, bytes: 0, calls: 0, dir, what };
    r.last = at;
    r.bytes += Number(m[4]);
    r.calls++;
    rows.set(key, r);
  }
  return [...rows.values()].sort((a, b) => a.first - b.first);
}
