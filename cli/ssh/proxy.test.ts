import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { staticTokenSource } from '../token-source/index.ts';
import { runSshProxy, type SshProxyOptions } from './proxy.ts';
import type { PumpStats } from '../../node-shared/ws-tcp-pump.ts';

// A fake edge (real `ws` on 127.0.0.1): the real one is in the e2e tests. The proxy's stdin and
// stdout are streams here, and the real process pipes in the last tests.

const MB = 1024 * 1024;
const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'bin', 'postern.mjs');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

type Decision = { accept: (ws: WebSocket) => void } | { status: number; body: unknown };

async function fakeEdge(decide: () => Decision) {
  const seen: Array<{ url?: string; auth?: string }> = [];
  const sockets: WebSocket[] = [];
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (req, socket, head) => {
    seen.push({ url: req.url, auth: req.headers.authorization });
    const d = decide();
    if ('accept' in d) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.push(ws);
        d.accept(ws);
      });
    } else {
      const body = JSON.stringify(d.body);
      socket.end(
        `HTTP/1.1 ${d.status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    }
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, seen, sockets };
}

const echo: Decision = { accept: (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })) };

function proxy(edge: string, over: Partial<SshProxyOptions> = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: string[] = [];
  let stats: PumpStats | null = null;
  const done = runSshProxy({
    connection: 'demo-ssh',
    edge,
    tokenSource: staticTokenSource('tkn'),
    input,
    output,
    log: (l) => lines.push(l),
    onPump: (s) => (stats = s),
    ...over,
  });
  return { input, output, lines, done, stats: () => stats };
}

/**
 * Resolves once `value()` has stopped changing: a stalled sender (kernel buffers full) or a
 * finished one. Not a timing assertion: the tests assert on byte counts after it.
 */
async function settled(value: () => number): Promise<void> {
  let last = -1;
  let same = 0;
  while (same < 5) {
    await new Promise((r) => setTimeout(r, 40));
    const v = value();
    same = v === last ? same + 1 : 0;
    last = v;
  }
}

function collect(stream: NodeJS.EventEmitter, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  return new Promise((resolve) => {
    const take = (d: Buffer) => {
      parts.push(d);
      n += d.byteLength;
      if (n >= bytes) resolve(Buffer.concat(parts));
    };
    stream.on('data', take);
    stream.on('message', take);
  });
}

describe('postern ssh-proxy', () => {
  it('carries bytes both ways in order to /v1/connect/<connection> with the bearer token', async () => {
    const edge = await fakeEdge(() => echo);
    const p = proxy(edge.url);
    const payload = randomBytes(5 * MB);
    const back = collect(p.output, payload.byteLength);
    p.input.write(payload.subarray(0, 21)); // "SSH-2.0-OpenSSH_9.2..." before the upgrade completes
    p.input.write(payload.subarray(21));
    expect(sha(await back)).toBe(sha(payload));
    expect(edge.seen[0]).toEqual({ url: '/v1/connect/demo-ssh', auth: 'Bearer tkn' });
    p.input.end(); // ssh is done: the WebSocket closes normally and the proxy exits 0
    const closed = once(edge.sockets[0]!, 'close');
    expect((await p.done).code).toBe(0);
    expect((await closed)[0]).toBe(1000);
    expect(p.lines).toEqual([]);
  });

  it('stops reading the edge while stdout is full, and delivers everything once ssh reads', async () => {
    const frame = 64 * 1024;
    const payload = randomBytes(32 * MB);
    let handedToKernel = 0; // bytes of the edge's frames its socket has written
    const edge = await fakeEdge(() => ({
      accept: (ws) => {
        for (let i = 0; i < payload.byteLength; i += frame)
          ws.send(payload.subarray(i, i + frame), () => (handedToKernel += frame));
      },
    }));
    // ssh that does not read: every write waits until `release`.
    let blocked = true;
    const waiting: Array<() => void> = [];
    const got: Buffer[] = [];
    const output = new Writable({
      highWaterMark: frame,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk);
        if (blocked) waiting.push(cb);
        else cb();
      },
    });
    const p = proxy(edge.url, { output });
    await vi.waitFor(() => expect(p.stats()?.webSocketPauses).toBeGreaterThan(0), { timeout: 20_000 });
    // Wait until the edge can send no more (kernel buffers full), or has sent everything.
    await settled(() => handedToKernel);
    // Paused long before the 32 MB were read: the rest waits in the edge and the kernel.
    expect(p.stats()!.toSocket).toBeLessThan(payload.byteLength / 4);
    // What waited in this process for ssh: the Duplex's buffer plus the frames of one socket read.
    expect(p.stats()!.peakSocketBacklog).toBeLessThanOrEqual(4 * frame);
    blocked = false;
    waiting.splice(0).forEach((cb) => cb());
    await vi.waitFor(() => expect(Buffer.concat(got).byteLength).toBe(payload.byteLength), {
      timeout: 20_000,
    });
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    p.input.end();
    expect((await p.done).code).toBe(0);
  });

  it('pauses stdin while the WebSocket holds more than the high-water mark', async () => {
    const highWater = 256 * 1024;
    const chunk = 64 * 1024;
    const payload = randomBytes(32 * MB);
    let edgeWs: WebSocket | undefined;
    const edge = await fakeEdge(() => ({
      accept: (ws) => {
        edgeWs = ws;
        ws.pause(); // the edge reads nothing yet
      },
    }));
    let offset = 0;
    const input = new Readable({
      highWaterMark: chunk,
      read() {
        this.push(offset < payload.byteLength ? payload.subarray(offset, (offset += chunk)) : null);
      },
    });
    const p = proxy(edge.url, { input, highWater });
    await vi.waitFor(() => expect(p.stats()?.socketPauses).toBeGreaterThan(0), { timeout: 20_000 });
    await settled(() => offset); // stdin is no longer read, or was read to its end
    expect(offset).toBeLessThan(payload.byteLength / 2);
    expect(p.stats()!.peakWebSocketBacklog).toBeLessThanOrEqual(highWater + chunk);
    const got = collect(edgeWs!, payload.byteLength);
    edgeWs!.resume();
    expect(sha(await got)).toBe(sha(payload));
    expect(p.stats()!.peakWebSocketBacklog).toBeLessThanOrEqual(highWater + chunk);
    expect((await p.done).code).toBe(0); // stdin ended after the last byte
  });

  it('says in one line why the edge refused, and exits 1', async () => {
    const cases: Array<[number, string, RegExp]> = [
      [401, 'unauthorized', /token rejected by the edge.*postern token/],
      [403, 'forbidden', /not allowed to use connection "demo-ssh"/],
      [404, 'connection_not_found', /unknown connection "demo-ssh"/],
      [503, 'connector_offline', /connector for "demo-ssh" is offline.*postern connector/],
    ];
    for (const [status, code, expected] of cases) {
      const edge = await fakeEdge(() => ({ status, body: { error: { code, message: 'x' } } }));
      const p = proxy(edge.url);
      const r = await p.done;
      expect(r.code, `${status}`).toBe(1);
      expect(p.lines).toHaveLength(1);
      expect(p.lines[0]).toMatch(/^postern ssh-proxy: /);
      expect(p.lines[0]).toMatch(expected);
      expect(p.output.read()).toBeNull(); // nothing on ssh's stdout
    }
  });

  it('names the edge it cannot reach, and a token source that fails', async () => {
    const http = createServer();
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const port = (http.address() as { port: number }).port;
    await new Promise((r) => http.close(r)); // nothing listens there now
    const p = proxy(`http://127.0.0.1:${port}`);
    expect((await p.done).code).toBe(1);
    expect(p.lines).toEqual([
      expect.stringMatching(/edge unreachable at http:\/\/127\.0\.0\.1:\d+: .*--edge/),
    ]);

    const q = proxy(`http://127.0.0.1:${port}`, {
      tokenSource: { get: () => Promise.reject(new Error('HTTP 401 from issuer')), describe: () => 'x' },
    });
    expect((await q.done).code).toBe(1);
    expect(q.lines).toEqual(['postern ssh-proxy: could not get a token: HTTP 401 from issuer']);
  });

  it('exits 0 when the edge ends the session normally and 1 with its reason otherwise', async () => {
    const normal = await fakeEdge(() => ({
      accept: (ws) => ws.send(Buffer.from('bye'), () => ws.close(1000)),
    }));
    const a = proxy(normal.url);
    expect((await a.done).code).toBe(0);
    expect(a.output.read()?.toString()).toBe('bye');
    expect(a.lines).toEqual([]);

    const cut = await fakeEdge(() => ({ accept: (ws) => ws.close(1011, 'target unreachable\r\nx') }));
    const b = proxy(cut.url);
    expect((await b.done).code).toBe(1);
    expect(b.lines).toEqual([
      'postern ssh-proxy: the edge ended the session (WebSocket close 1011: target unreachable x)',
    ]);
  });

  it('refuses a frame larger than SSH ever needs instead of holding it', async () => {
    const edge = await fakeEdge(() => ({ accept: (ws) => ws.send(Buffer.alloc(17 * MB)) }));
    const p = proxy(edge.url);
    expect((await p.done).code).toBe(1);
    expect(p.lines).toEqual([
      expect.stringMatching(/^postern ssh-proxy: connection to the edge failed: .*payload/i),
    ]);
    expect(p.stats()?.toSocket).toBe(0);
  });

  it('as a process: pipes its real stdin and stdout, and exits 0 when ssh closes stdin', async () => {
    const edge = await fakeEdge(() => echo);
    const child = spawn(process.execPath, [CLI, 'ssh-proxy', 'demo-ssh', '--edge', edge.url], {
      env: { ...process.env, POSTERN_TOKEN: 'from-env' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    closers.push(() => void child.kill());
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const payload = randomBytes(8 * MB);
    const back = collect(child.stdout, payload.byteLength);
    child.stdin.write(payload);
    expect(sha(await back)).toBe(sha(payload));
    child.stdin.end();
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    expect(edge.seen[0]?.auth).toBe('Bearer from-env');
  });

  it('as a process: a refusal is one line on stderr, nothing on stdout, exit 1', async () => {
    const edge = await fakeEdge(() => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'no' } },
    }));
    const child = spawn(
      process.execPath,
      [CLI, 'ssh-proxy', 'demo-ssh', '--edge', edge.url, '--token', 't'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdin.write('SSH-2.0-OpenSSH_9.2p1\r\n');
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toEqual([
      'postern ssh-proxy: not allowed to use connection "demo-ssh" (Ask an admin to allow your identity (subject or group) on this connection.)',
    ]);
  });
});
