import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { DialRequest } from '../core/tunnel/protocol.ts';
import { parseAllowlist } from './allowlist.ts';
import { runDataChannel } from './data-channel.ts';

const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

/** A stand-in edge: records when each channel arrives and what it is sent first. */
async function fakeEdge() {
  const events: Array<{ what: string; at: number; text?: string }> = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws, req) => {
    events.push({ what: `channel ${req.url} ${req.headers.authorization}`, at: Date.now() });
    ws.once('message', (d) => events.push({ what: 'first frame', at: Date.now(), text: String(d) }));
  });
  stops.push(() => wss.close());
  return { url: `http://127.0.0.1:${(wss.address() as { port: number }).port}`, events, wss };
}

/** A Postgres-like target that answers the SSLRequest only after `delayMs` (with 'N'). */
async function slowTarget(delayMs: number) {
  const answered: number[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.once('data', () =>
      setTimeout(() => {
        answered.push(Date.now());
        s.write('N');
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, answered, sockets };
}

const dial = (port: number): DialRequest => ({
  type: 'dial',
  sessionId: 'a'.repeat(64),
  channelToken: 'pch_token',
  protocol: 'postgres',
  target: { host: '127.0.0.1', port, tls: 'postgres-starttls' },
});

describe('runDataChannel', () => {
  it('opens the channel while the target is being dialled, and says hello only once it answered', async () => {
    const edge = await fakeEdge();
    const target = await slowTarget(400);
    const done = runDataChannel(
      dial(target.port),
      { edgeUrl: edge.url, rules: parseAllowlist(`127.0.0.1:${target.port}`), log: () => undefined },
      () => () => undefined,
    );
    await done;
    for (let i = 0; i < 100 && edge.events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const [arrived, first] = edge.events;
    expect(arrived?.what).toBe(`channel /v1/channel/${'a'.repeat(64)} Bearer pch_token`);
    // The channel was up before the target answered: the two waits overlap.
    expect(arrived!.at).toBeLessThan(target.answered[0]!);
    // The first frame still reports the target's answer (here: no TLS offered).
    expect(first!.at).toBeGreaterThanOrEqual(target.answered[0]!);
    expect(JSON.parse(first!.text!)).toMatchObject({ type: 'channel-error', reason: 'tls-failed' });
  });
});
