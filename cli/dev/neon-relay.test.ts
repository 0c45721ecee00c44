import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import WebSocket from 'ws';
import { startNeonRelay } from './neon-relay.ts';

const MB = 1024 * 1024;
const FRAME = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

/** A Postgres stand-in on 127.0.0.1 that reads nothing until the test resumes it. */
async function stalledTarget() {
  const server = createServer();
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  const socket = accepted.then(([s]) => {
    s.pause();
    closers.push(() => s.destroy());
    return s;
  });
  return { port: (server.address() as { port: number }).port, socket };
}

describe('startNeonRelay', () => {
  it('stops reading the driver while the target does not read, then delivers every byte', async () => {
    const target = await stalledTarget();
    const relay = await startNeonRelay({ allow: [{ host: '127.0.0.1', port: target.port }] });
    closers.push(() => relay.stop());
    const driver = new WebSocket(`ws://127.0.0.1:${relay.port}/v2?address=127.0.0.1:${target.port}`, {
      perMessageDeflate: false,
    });
    closers.push(() => driver.terminate());
    await once(driver, 'open');

    // Sent at once, before the relay has even connected to the target.
    const payload = randomBytes(32 * MB);
    let allSent = false;
    for (let o = 0; o < payload.byteLength; o += FRAME) {
      const last = o + FRAME >= payload.byteLength;
      driver.send(payload.subarray(o, o + FRAME), last ? () => (allSent = true) : undefined);
    }
    // Either the relay pauses the driver (backpressure), or it swallows everything (none).
    await vi.waitFor(() => expect(allSent || (relay.pumpStats()[0]?.webSocketPauses ?? 0) > 0).toBe(true), {
      timeout: 20_000,
    });
    const [stats] = relay.pumpStats();
    expect(stats).toBeDefined();
    expect(stats!.toSocket).toBeLessThan(payload.byteLength / 2);

    const socket = await target.socket;
    const parts: Buffer[] = [];
    let n = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        parts.push(d);
        if ((n += d.byteLength) >= payload.byteLength) resolve();
      }),
    );
    socket.resume();
    await done;
    expect(sha(Buffer.concat(parts))).toBe(sha(payload));
    // What the relay held toward the target: Node's socket buffer plus the frames already read.
    expect(stats!.peakSocketBacklog).toBeLessThanOrEqual(16 * 1024 + 4 * FRAME);
  });

  it('refuses an address that is not allowed', async () => {
    const relay = await startNeonRelay({ allow: [{ host: '127.0.0.1', port: 1 }] });
    closers.push(() => relay.stop());
    const driver = new WebSocket(`ws://127.0.0.1:${relay.port}/v2?address=127.0.0.1:2`);
    closers.push(() => driver.terminate());
    const [code] = (await once(driver, 'close')) as [number];
    expect(code).toBe(1008);
  });
});
