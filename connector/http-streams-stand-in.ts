/**
 * A stand-in Kubernetes API server for the connector's HTTP stream tests: a real HTTPS server
 * (node:https, a certificate for 127.0.0.1 from a CA made here with openssl) with the endpoints the
 * tests drive (a pod list, an echo, a watch that writes as fast as it may, a response cut short,
 * exec and port-forward upgrades). Kept apart from the test edge so each reads alone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

export const SPDY_PORT_FORWARD = 'SPDY/3.1+portforward.k8s.io';

export interface Api {
  port: number;
  server: HttpsServer;
  /** TLS connections accepted (each is a TCP connection and a handshake). */
  connections: number;
  /** Headers of each request, by path. */
  seen: Map<string, IncomingMessage['headers']>;
  /** Bytes the streaming endpoint has written, and whether its request was aborted. */
  streamed: { written: number; aborted: boolean; paused: boolean };
  wsMessages: Buffer[];
}

/** Reads a PEM file made by `makeCerts` in `dir`. */
export const pemIn = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

/**
 * Makes, in `dir`: a CA (ca.pem) and an unrelated one (other.pem), the API server's certificate
 * for 127.0.0.1 (srv.pem), and the gateway's client certificate with its key (client.pem).
 */
export function makeCerts(dir: string): void {
  const pem = (f: string) => pemIn(dir, f);
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  for (const [name, cn] of [
    ['ca', 'kube-test-ca'],
    ['other', 'other-ca'],
  ])
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ]);
  sh([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'srv.key',
    '-out',
    'srv.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  // The gateway's client certificate (kubeconfig's client-certificate-data + client-key-data).
  sh([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    '-subj',
    '/CN=postern-gateway',
  ]);
  sh([
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.crt',
    '-days',
    '1',
  ]);
  writeFileSync(join(dir, 'client.pem'), pem('client.crt') + pem('client.key'));
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  sh([
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);
}

/** Starts the stand-in on 127.0.0.1 with the certificates in `dir`. */
export async function startApi(dir: string): Promise<Api> {
  const pem = (f: string) => pemIn(dir, f);
  const a = {
    connections: 0,
    seen: new Map(),
    streamed: { written: 0, aborted: false, paused: false },
    wsMessages: [] as Buffer[],
  } as unknown as Api;
  // Client certificates are asked for but optional, as kube-apiserver does (--client-ca-file).
  const tlsOptions = {
    key: pem('srv.key'),
    cert: pem('srv.pem'),
    ca: pem('ca.pem'),
    requestCert: true,
    rejectUnauthorized: false,
  };
  const server = createHttpsServer(tlsOptions, (req, res) => {
    a.seen.set(req.url!, req.headers);
    const url = new URL(req.url!, 'https://x');
    if (url.pathname === '/whoami') {
      const socket = req.socket as TLSSocket;
      res.end(
        JSON.stringify({
          authorized: socket.authorized,
          cn: socket.getPeerCertificate().subject?.CN ?? null,
        }),
      );
    } else if (url.pathname === '/api/v1/pods') {
      // Overlap the burst's requests so the pool needs more than one socket.
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ kind: 'PodList', items: [{ metadata: { name: url.searchParams.get('i') } }] }),
        );
      }, 20);
    } else if (url.pathname === '/die') {
      // An API server that dies mid-response.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"PodList","items":[');
      setTimeout(() => req.socket.destroy(), 50);
    } else if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    } else if (url.pathname === '/watch') {
      // A `get -w` / `logs -f` stream: chunked, written as fast as the connection takes it.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 'w');
      const pump = () => {
        while (!res.destroyed && a.streamed.written < 64 * 1024 * 1024) {
          a.streamed.written += chunk.length;
          if (!res.write(chunk)) {
            a.streamed.paused = true;
            return res.once('drain', pump);
          }
        }
      };
      req.on('close', () => {
        if (!res.writableEnded) a.streamed.aborted = true;
      });
      pump();
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('secureConnection', () => a.connections++);
  server.on('tlsClientError', () => undefined);
  // kubectl's port-forward subprotocol is no RFC 6455 token: `ws` would refuse the handshake, so
  // this server (as the stand-in, test/kube/upgrade.ts) reads the header before `ws` does and
  // answers with the name asked for. `/portforward-wrong` answers one that was not offered.
  server.prependListener('upgrade', (req: IncomingMessage) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '');
    if (offered.split(',').some((p) => p.trim() === SPDY_PORT_FORWARD))
      req.headers['sec-websocket-protocol'] = req.url!.includes('wrong') ? 'other' : 'spdy-port-forward';
  });
  const wss = new WebSocketServer({
    server,
    // RBAC refusing exec: the upgrade is answered with a plain 403.
    verifyClient: (info, cb) =>
      info.req.url!.includes('/forbidden/') ? cb(false, 403, 'Forbidden') : cb(true),
    handleProtocols: (offered) =>
      offered.has('spdy-port-forward')
        ? SPDY_PORT_FORWARD
        : offered.has('other')
          ? 'v9.not-offered'
          : offered.has('v5.channel.k8s.io')
            ? 'v5.channel.k8s.io'
            : false,
  });
  wss.on('connection', (ws, req) => {
    a.seen.set(req.url!, req.headers);
    // exec's v5.channel.k8s.io: first byte is the channel; stdin (0) comes back as stdout (1).
    ws.on('message', (data: Buffer, isBinary) => {
      a.wsMessages.push(data);
      if (isBinary && data[0] === 0) ws.send(Buffer.concat([Buffer.from([1]), data.subarray(1)]));
      if (isBinary && data[0] === 255) ws.close(1000);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  a.server = server;
  a.port = (server.address() as { port: number }).port;
  return a;
}
