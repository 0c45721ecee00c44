/**
 * The local edge over TLS, for kubectl. Miniflare serves plain HTTP, and client-go sends an exec
 * credential plugin's token only over TLS (to an `http://` server kubectl sends no Authorization
 * at all, and the edge answers 401), so `postern dev` puts this relay in front of the edge:
 * HTTPS on 127.0.0.1 with a certificate from a throwaway CA of its own (the stand-in's openssl
 * helper, test/kube/tls.ts), every request and WebSocket upgrade passed to the edge as it came.
 * A deployed edge has its own certificate; this exists only on one machine, for the demo.
 */
import { createServer, type Server } from 'node:https';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { makePki } from '../../test/kube/tls.ts';

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The CA that signed the front's certificate (for `postern kube-config --certificate-authority`). */
  caPem: string;
  stop(): Promise<void>;
}

/** Relays HTTPS on 127.0.0.1:`port` to `edgeUrl` (plain HTTP on the same machine). */
export async function startTlsFront(edgeUrl: string, port: number): Promise<TlsFront> {
  const edge = new URL(edgeUrl);
  const pki = makePki();
  const { caPem, certPem, keyPem } = pki;
  pki.cleanup();
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const up = request(
      { host: edge.hostname, port: edge.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // An upgrade (kubectl exec, port-forward) is relayed as bytes once its head is written again.
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const up = connect(Number(edge.port), edge.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${bound}`,
    port: bound,
    caPem,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
