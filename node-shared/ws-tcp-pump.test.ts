import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { pumpWsTcp } from './ws-tcp-pump.ts';

// The pump sits where the connector's data channel does: a WebSocket to an "edge" (a ws server
// here) and a TCP socket to a "target" (a net server), all real sockets on 127.0.0.1.

const MB = 1024 * 1024;
/** One socket read in Node (and so one WebSocket frame from a socket chunk) is at most 64 KiB. */
const READ = 64 * 1024;

let closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.reverse()) c();
  closers = [];
});

async function rig(highWater: number, onText?: (t: Buffer) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const tcp = createServer();
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  closers.push(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    tcp.close();
  });
  const edgeP = once(wss, 'connection') as Promise<[WebSocket]>;
  const targetP = once(tcp, 'connection') as Promise<[Socket]>;
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, {
    perMessageDeflate: false,
  });
  const socket = connect((tcp.address() as { port: number }).port, '127.0.0.1');
  closers.push(() => {
    ws.terminate();
    socket.destroy();
  });
  await Promise.all([once(ws, 'open'), once(socket, 'connect')]);
  const [[edge], [target]] = await Promise.all([edgeP, targetP]);
  closers.push(() => target.destroy());
  const pump = pumpWsTcp(ws, socket, { highWater, ...(onText ? { onText } : {}) });
  return { edge, target, pump, ws, socket };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function collect(stream: { on(e: string, f: (d: Buffer) => void): unknown }, bytes: number) {
  const parts: Buffer[] = [];
  let n = 0;
  return new Promise<Buffer>((resolve) => {
    const take = (d: Buffer) => {
      parts.push(d);
      n += d.byteLength;
      if (n >= bytes) resolve(Buffer.concat(parts));
    };
    stream.on('data', take);
    stream.on('message', take);
  });
}

describe('pumpWsTcp', () => {
  it('holds at most the high-water mark plus one read when the WebSocket side stops reading', async () => {
    const highWater = 256 * 1024;
    const { edge, target, pump } = await rig(highWater);
    const payload = randomBytes(32 * MB);
    edge.pause(); // the edge reads nothing: the pump must stop reading the target
    target.write(payload);
    await vi.waitFor(() => expect(pump.stats.socketPauses).toBeGreaterThan(0), { timeout: 20_000 });
    // Paused well before the target's 32 MB were read: the rest waits in the target and the kernel.
    expect(pump.stats.toWebSocket).toBeLessThan(payload.byteLength / 2);
    const got = collect(edge as never, payload.byteLength);
    edge.resume();
    expect(sha(await got)).toBe(sha(payload));
    expect(pump.stats.toWebSocket).toBe(payload.byteLength);
    expect(pump.stats.peakWebSocketBacklog).toBeLessThanOrEqual(highWater + READ);
  });

  it('pauses the WebSocket while the socket cannot take more, and delivers every byte', async () => {
    const { edge, target, pump } = await rig(256 * 1024);
    const payload = randomBytes(32 * MB);
    target.pause(); // the target reads nothing: the pump must stop reading the WebSocket
    for (let o = 0; o < payload.byteLength; o += READ) edge.send(payload.subarray(o, o + READ));
    await vi.waitFor(() => expect(pump.stats.webSocketPauses).toBeGreaterThan(0), { timeout: 20_000 });
    expect(pump.stats.toSocket).toBeLessThan(payload.byteLength / 2);
    const got = collect(target, payload.byteLength);
    target.resume();
    expect(sha(await got)).toBe(sha(payload));
    expect(pump.stats.toSocket).toBe(payload.byteLength);
    // Node's socket buffer (16 KiB) plus the frames `ws` had read when it was paused.
    expect(pump.stats.peakSocketBacklog).toBeLessThanOrEqual(16 * 1024 + 4 * READ);
  });

  it('moves bytes both ways at once, intact', async () => {
    const { edge, target } = await rig(64 * 1024);
    const up = randomBytes(8 * MB);
    const down = randomBytes(8 * MB);
    const atTarget = collect(target, up.byteLength);
    const atEdge = collect(edge as never, down.byteLength);
    for (let o = 0; o < up.byteLength; o += 10_000) edge.send(up.subarray(o, o + 10_000));
    target.write(down);
    expect(sha(await atTarget)).toBe(sha(up));
    expect(sha(await atEdge)).toBe(sha(down));
  });

  it('writes the frames of one WebSocket read to the socket in one write', async () => {
    const { edge, target, socket } = await rig(64 * 1024);
    // Every write the socket makes to the kernel: _write for one chunk, _writev for several.
    type Cb = (e?: Error | null) => void;
    const s = socket as unknown as {
      _write: (c: Buffer, e: string, cb: Cb) => void;
      _writev: (c: { chunk: Buffer }[], cb: Cb) => void;
    };
    const writes: number[] = [];
    const write = s._write.bind(socket);
    const writev = s._writev.bind(socket);
    s._write = (c, e, cb) => (writes.push(1), write(c, e, cb));
    s._writev = (c, cb) => (writes.push(c.length), writev(c, cb));
    const got = collect(target, 9);
    // Three frames in one TCP segment from the edge, so the pump's WebSocket reads them at once.
    const raw = (edge as unknown as { _socket: Socket })._socket;
    raw.cork();
    for (const f of ['abc', 'def', 'ghi']) edge.send(Buffer.from(f));
    raw.uncork();
    expect((await got).toString()).toBe('abcdefghi');
    expect(writes).toEqual([3]);
  });

  it('hands text frames to onText and never writes them to the socket', async () => {
    const texts: string[] = [];
    const { edge, target } = await rig(64 * 1024, (t) => texts.push(t.toString('utf8')));
    const got = collect(target, 3);
    edge.send('{"type":"cancel"}');
    edge.send(Buffer.from('abc'));
    expect((await got).toString()).toBe('abc');
    expect(texts).toEqual(['{"type":"cancel"}']);
  });

  it('stop() detaches it from both sides', async () => {
    const { edge, target, pump, socket } = await rig(64 * 1024);
    pump.stop();
    expect(socket.listenerCount('data')).toBe(0);
    edge.send(Buffer.from('x'));
    target.write('y');
    const echoed = collect(target, 1);
    // Bytes after stop() are not pumped: only what the test writes itself arrives.
    socket.write('z');
    expect((await echoed).toString()).toBe('z');
    expect(pump.stats.toSocket + pump.stats.toWebSocket).toBe(0);
  });
});
