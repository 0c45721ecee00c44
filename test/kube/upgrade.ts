/**
 * The stand-in's upgrades: exec, attach and portforward arrive as HTTP Upgrade requests and are
 * authenticated, authorized (verb create), checked, then handed to a WebSocket server — the
 * remote command channel protocols (v5/v4), port forward v4, or kubectl's SPDY-in-WebSocket port
 * forward. A refused upgrade gets a plain HTTP answer carrying a Status.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Identity } from './auth.ts';
import { negotiate, PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS } from './channels.ts';
import type { Container, PodFs } from './fake-shell.ts';
import { resolve, type RequestInfo } from './paths.ts';
import { recordRequest, type RecordedRequest } from './recording.ts';
import { serveSpdyPortForward, SPDY_PORT_FORWARD_PROTOCOL } from './spdy-port-forward.ts';
import { badRequest, KubeError, noRoute } from './status.ts';
import type { Store } from './store.ts';
import { serveExec, servePortForward } from './streams.ts';

/** What the upgrade handler shares with the rest of the stand-in. */
export interface UpgradeDeps {
  store: Store;
  requests: RecordedRequest[];
  resizes: { Width: number; Height: number }[];
  /** `namespace/pod/podPort` → the 127.0.0.1 port a test exposed. */
  ports: Map<string, number>;
  podFs(ns: string, pod: string): PodFs;
  authenticate(req: IncomingMessage): Identity;
  authorizeOrThrow(id: Identity, info: RequestInfo, verb?: string): void;
}

/** An HTTP answer on a socket that asked to upgrade and will not be. */
function refuseUpgrade(socket: Duplex, e: KubeError) {
  const text = JSON.stringify(e.status());
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[e.code] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${e.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** The `upgrade` listener, and `terminateAll` to drop every open WebSocket on stop. */
export function upgrades(deps: UpgradeDeps) {
  const { store, requests, resizes, ports, podFs, authenticate, authorizeOrThrow } = deps;
  const remoteCommand = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => negotiate(offered, REMOTE_COMMAND_PROTOCOLS) ?? false,
  });
  const portForward = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => negotiate(offered, PORT_FORWARD_PROTOCOLS) ?? false,
  });

  const spdyTunnel = new WebSocketServer({
    noServer: true,
    handleProtocols: () => SPDY_PORT_FORWARD_PROTOCOL,
  });

  /** exec, attach and portforward: authenticate, authorize (verb create), check, then upgrade. */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const rec = recordRequest(requests, req);
    try {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const id = authenticate(req);
      rec.identity = id;
      const info = resolve('GET', url.pathname, url.searchParams);
      if (
        !info ||
        info.t.kind !== 'Pod' ||
        !info.name ||
        !['exec', 'attach', 'portforward'].includes(info.subresource ?? '')
      )
        throw noRoute();
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw badRequest('only WebSocket upgrades are supported by this stand-in (no SPDY)');
      // Since Kubernetes 1.30 a WebSocket exec needs `create` like a POST (AuthorizePodWebsocketUpgradeCreatePermission).
      authorizeOrThrow(id, info, 'create');
      const pod = store.get(info.t, info.namespace, info.name);
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const q = url.searchParams;
      if (info.subresource === 'portforward') {
        const pf = negotiate(offered, PORT_FORWARD_PROTOCOLS);
        if (!pf) throw badRequest(`unable to upgrade: no supported subprotocol among: ${offered.join(', ')}`);
        const exposed = (port: number) => ports.get(`${info.namespace}/${info.name}/${port}`);
        if (pf === SPDY_PORT_FORWARD_PROTOCOL) {
          // kubectl: SPDY inside the WebSocket; the ports are named in each stream's headers.
          // `ws` rejects the protocol name ('/' is not an RFC 7230 token character): hand it a
          // token and answer with the name kubectl asked for.
          req.headers['sec-websocket-protocol'] = 'spdy-port-forward';
          rec.status = 101;
          return spdyTunnel.handleUpgrade(req, socket, head, (ws: WebSocket) =>
            serveSpdyPortForward(ws, exposed),
          );
        }
        const port = Number(q.get('ports'));
        if (!Number.isInteger(port) || port < 1 || port > 65535 || q.getAll('ports').length !== 1)
          throw badRequest('this stand-in forwards exactly one port per WebSocket v4 connection (ports=N)');
        rec.status = 101;
        return portForward.handleUpgrade(req, socket, head, (ws: WebSocket) =>
          servePortForward(ws, port, exposed(port)),
        );
      }
      const protocol = negotiate(offered, REMOTE_COMMAND_PROTOCOLS);
      if (!protocol)
        throw badRequest(`unable to upgrade: no supported subprotocol among: ${offered.join(', ')}`);
      const names = ((pod.spec as { containers?: { name: string }[] }).containers ?? []).map((c) => c.name);
      const container = q.get('container') || (names.length === 1 ? names[0] : undefined);
      if (!container)
        throw badRequest(
          `a container name must be specified for pod ${info.name}, choose one of: [${names.join(' ')}]`,
        );
      if (!names.includes(container))
        throw badRequest(`container ${container} is not valid for pod ${info.name}`);
      const argv = info.subresource === 'attach' ? ['sh'] : q.getAll('command');
      if (!argv.length) throw badRequest('you must specify at least 1 command');
      const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
      const c: Container = {
        fs: podFs(info.namespace!, info.name),
        hostname: info.name,
        env: { HOSTNAME: info.name, KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      };
      rec.status = 101;
      remoteCommand.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        serveExec(ws, c, {
          argv,
          stdin: flag('stdin'),
          stdout: flag('stdout'),
          stderr: flag('stderr'),
          tty: flag('tty'),
          protocol,
          onResize: (s) => resizes.push(s),
        }).catch(() => ws.terminate());
      });
    } catch (e) {
      const err = e instanceof KubeError ? e : new KubeError(500, 'InternalError', 'Internal error occurred');
      rec.status = err.code;
      refuseUpgrade(socket, err);
    }
  }

  function terminateAll() {
    for (const ws of [...remoteCommand.clients, ...portForward.clients, ...spdyTunnel.clients])
      ws.terminate();
  }

  return { onUpgrade, terminateAll };
}
