/**
 * The edge over TLS for kubectl (tls-front.ts): a request reaches the edge as it was sent,
 * Authorization included (what client-go sends only over TLS), and so does a WebSocket upgrade.
 */
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTlsFront, type TlsFront } from './tls-front.ts';

let edge: Server;
let front: TlsFront;
const seen: Array<{ method?: string; url?: string; authorization?: string }> = [];

beforeAll(async () => {
  edge = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"kind":"APIVersions"}');
  });
  edge.on('upgrade', (req, socket) => {
    seen.push({ method: 'UPGRADE', url: req.url, authorization: req.headers.authorization });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello');
  });
  await new Promise<void>((r) => edge.listen(0, '127.0.0.1', r));
  front = await startTlsFront(`http://127.0.0.1:${(edge.address() as AddressInfo).port}`, 0);
});
afterAll(async () => {
  await front?.stop();
  await new Promise((r) => edge?.close(r));
});

describe('the edge over TLS', () => {
  it('serves HTTPS on 127.0.0.1 with its own CA and relays a request with its Authorization', async () => {
    expect(front.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) =>
      request(
        `${front.url}/v1/kube/demo-kube/api?timeout=32s`,
        { ca: front.caPem, headers: { Authorization: 'Bearer t0ken' } },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d));
          res.on('end', () => resolve(b));
        },
      )
        .on('error', reject)
        .end(),
    );
    expect(body).toBe('{"kind":"APIVersions"}');
    expect(seen.at(-1)).toEqual({
      method: 'GET',
      url: '/v1/kube/demo-kube/api?timeout=32s',
      authorization: 'Bearer t0ken',
    });
  });

  it('relays an upgrade both ways', async () => {
    const port = new URL(front.url).port;
    const got = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect(
        { host: '127.0.0.1', port: Number(port), ca: front.caPem, servername: 'localhost' },
        () =>
          s.write(
            'GET /v1/kube/demo-kube/api/v1/namespaces/prod/pods/p/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
          ),
      );
      let b = '';
      s.on('data', (d: Buffer) => (b += d));
      s.on('end', () => resolve(b));
      s.on('error', reject);
    });
    expect(got).toMatch(/^HTTP\/1.1 101 [\s\S]*\r\n\r\nhello$/);
    expect(seen.at(-1)).toEqual({
      method: 'UPGRADE',
      url: '/v1/kube/demo-kube/api/v1/namespaces/prod/pods/p/exec',
      authorization: 'Bearer t0ken',
    });
  });
});
