/**
 * A STAND-IN for a Kubernetes API server, for tests and the `postern dev` demo: no real cluster
 * runs on the machines this project is developed and tested on. It speaks the kube-apiserver wire
 * (JSON only) for what Postern's Kubernetes support is tested with — discovery (legacy and
 * aggregated v2), namespaces, pods, secrets, configmaps, events, deployments and replicasets,
 * JSON and Table responses, watch, pods/log with follow, exec/attach over WebSocket (v5/v4
 * channel protocols) against a fake shell, and port forward (v4) to 127.0.0.1 ports the test
 * exposes. docs/kubernetes-test-server.md lists what it does and does not do. The product never
 * depends on it.
 *
 *   const kube = await start({ host: '127.0.0.1', port: 0, tls: true });
 *   // kube.url, kube.caPem, kube.token; kube.requests records every request's headers
 *   await kube.stop();
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  aggregated,
  AGGREGATED_V2,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  SERVER_VERSION,
  wantsAggregated,
} from './discovery.ts';
import { PodFs } from './fake-shell.ts';
import { openApiV3Doc, openApiV3Root } from './openapi.ts';
import { decodeProtobuf } from './proto.ts';
import { Logs } from './logs.ts';
import { resolve, type RequestInfo } from './paths.ts';
import { recordRequest, type RecordedRequest } from './recording.ts';
import { findType, type JsonObject, type KubeObject } from './resources.ts';
import { handle, podLog, watch, type Ctx } from './rest.ts';
import { badRequest, forbidden, KubeError, noRoute } from './status.ts';
import { Store } from './store.ts';
import { wantsTable } from './table.ts';
import { makePki, type Pki } from './tls.ts';
import { upgrades } from './upgrade.ts';
import { ADMIN, authenticator, type Identity } from './auth.ts';

export type { Identity, RecordedRequest };

/** kube-apiserver's default limit on a request body (3 MiB, apiserver MaxRequestBodyBytes). */
const MAX_BODY = 3 * 1024 * 1024;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** What RBAC would be asked (authorizer.Attributes). */
export interface Attributes extends Identity {
  verb: string;
  namespace?: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  name?: string;
}

export interface StartOptions {
  host?: string;
  port?: number;
  tls?: boolean;
  /** The bearer token to accept (default: random). */
  token?: string;
  /** RBAC stand-in: return false to answer 403 Forbidden. Default: allow everything. */
  authorize?: (a: Attributes) => boolean;
  /** Users allowed to impersonate (default: the token's user only). */
  impersonators?: string[];
  /** A watch's life when the client sets no timeoutSeconds (kube-apiserver: 30-60 min). */
  watchTimeoutSeconds?: number;
}

export interface KubeStandIn {
  url: string;
  /** PEM of the CA that signed the serving certificate (and client certificates); '' without TLS. */
  caPem: string;
  token: string;
  /** The token's user name. */
  user: string;
  requests: RecordedRequest[];
  store: Store;
  /** Creates an object as a client would (namespace from the object; for seeding). */
  create(o: KubeObject): KubeObject;
  writeLog(namespace: string, pod: string, text: string, container?: string): void;
  endLog(namespace: string, pod: string, container?: string): void;
  /** Open `logs -f` streams on a container (a test writes once one is there, not after a sleep). */
  logFollowers(namespace: string, pod: string, container?: string): number;
  /** A pod's file system, for exec/cp tests. */
  fs(namespace: string, pod: string): PodFs;
  /** Makes `pod`'s port `podPort` reachable by port forward, as 127.0.0.1:`localPort`. */
  exposePort(namespace: string, pod: string, podPort: number, localPort: number): void;
  /** Resizes received on exec/attach terminals. */
  resizes: { Width: number; Height: number }[];
  /** A client certificate the server accepts (CN user, O groups). */
  clientCert(user: string, groups?: string[]): { certPem: string; keyPem: string };
  /**
   * A hostile API server, for tests: when set, it sees each request first (after it is
   * recorded) and answers it itself by returning true (a body over a cap, broken JSON, a
   * response that never ends...). Unset, the stand-in behaves.
   */
  hostile: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  stop(): Promise<void>;
}

function send(res: ServerResponse, code: number, body: JsonObject, contentType = 'application/json') {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Accept: JSON, anything, a Table, or aggregated discovery; protobuf alone cannot be served. */
function acceptable(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((alt) => {
    const type = alt.split(';')[0]!.trim();
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY)
      throw new KubeError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded as JSON: ${(e as Error).message}`);
  }
}

export async function start(opts: StartOptions = {}): Promise<KubeStandIn> {
  const token = opts.token ?? `stand-in-${randomBytes(24).toString('base64url')}`;
  const impersonators = new Set(opts.impersonators ?? [ADMIN]);
  const authorize = opts.authorize ?? (() => true);
  const pki: Pki | undefined = opts.tls ? makePki() : undefined;
  const store = new Store();
  const logs = new Logs();
  const files = new Map<string, PodFs>();
  const ports = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const resizes: { Width: number; Height: number }[] = [];
  const sockets = new Set<Socket>();
  const NS = findType('', 'v1', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
    store.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

  const podFs = (ns: string, pod: string) => {
    const k = `${ns}/${pod}`;
    let fs = files.get(k);
    if (!fs) {
      files.set(k, (fs = new PodFs()));
      fs.write('/etc/hostname', new TextEncoder().encode(`${pod}\n`));
    }
    return fs;
  };

  const authenticate = authenticator({ token, tls: !!pki, impersonators });

  function authorizeOrThrow(id: Identity, info: RequestInfo, verb = info.verb) {
    const a: Attributes = {
      ...id,
      verb,
      namespace: info.namespace,
      apiGroup: info.t.group,
      resource: info.t.plural,
      subresource: info.subresource,
      name: info.name,
    };
    if (!authorize(a)) {
      const resource = info.subresource ? `${info.t.plural}/${info.subresource}` : info.t.plural;
      throw forbidden(id.user, verb, info.t, resource, info.namespace, info.name);
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse, record: RecordedRequest) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const id = authenticate(req);
    record.identity = id;
    const accept = req.headers.accept;
    // OpenAPI v2 is served only as protobuf by kube-apiserver; the stand-in has none: 404, not 406.
    if (url.pathname.startsWith('/openapi/v2')) throw noRoute();
    if (!acceptable(accept))
      throw new KubeError(
        406,
        'NotAcceptable',
        `only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io`,
      );
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET') {
      if (path === '/version') return send(res, 200, SERVER_VERSION);
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('ok');
      }
      if (path === '/api' || path === '/apis') {
        if (wantsAggregated(accept)) return send(res, 200, aggregated(path === '/api'), AGGREGATED_V2);
        return send(res, 200, path === '/api' ? apiVersions(req.headers.host ?? '') : apiGroupList());
      }
      if (path === '/openapi/v3') return send(res, 200, openApiV3Root());
      if (path.startsWith('/openapi/v3/')) {
        const doc = openApiV3Doc(path.slice('/openapi/v3/'.length));
        if (doc) return send(res, 200, doc);
      }
      const m = /^\/api\/([^/]+)$|^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
      if (m) {
        const doc = m[1]
          ? apiResourceList('', m[1])
          : m[3]
            ? apiResourceList(m[2]!, m[3])
            : apiGroupDoc(m[2]!);
        if (doc) return send(res, 200, doc);
      }
    }
    const info = resolve(req.method ?? 'GET', path, url.searchParams);
    if (!info) throw noRoute();
    authorizeOrThrow(id, info, info.subresource === 'log' ? 'get' : info.verb);
    const contentType = req.headers['content-type'] ?? '';
    let body: unknown;
    if (['POST', 'PUT', 'PATCH'].includes(req.method!)) {
      const media = contentType.split(';')[0]!.trim();
      const protobuf = media === PROTOBUF;
      if (req.method !== 'PATCH' && media !== 'application/json' && !protobuf)
        throw new KubeError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf`,
        );
      if (protobuf && req.method === 'PATCH')
        throw new KubeError(415, 'UnsupportedMediaType', 'patch bodies are JSON');
      const raw = await readBody(req);
      record.body = raw;
      body = raw.length === 0 ? undefined : protobuf ? decodeProtobuf(raw) : parseJson(raw);
      if (body === undefined) throw badRequest('the body of the request was empty');
    }
    const ctx: Ctx = {
      store,
      logs,
      info,
      query: url.searchParams,
      table: wantsTable(accept),
      body,
      contentType,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 1800,
    };
    if (info.subresource === 'log' && info.verb === 'get') return podLog(ctx, res);
    if (info.subresource && ['exec', 'attach', 'portforward'].includes(info.subresource))
      throw badRequest('Upgrade request required');
    if (info.verb === 'watch') return watch(ctx, res);
    const reply = handle(ctx);
    if (info.t.kind === 'Pod' && info.verb === 'delete') logs.drop(info.namespace!, info.name!);
    send(res, reply.code, reply.body);
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const rec = recordRequest(requests, req);
    res.on('finish', () => (rec.status = res.statusCode));
    if (self.hostile?.(req, res)) return;
    onRequest(req, res, rec).catch((e: unknown) => {
      const err =
        e instanceof KubeError
          ? e
          : new KubeError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      if (res.headersSent) res.destroy();
      else send(res, err.code, err.status());
    });
  };

  const { onUpgrade, terminateAll } = upgrades({
    store,
    requests,
    resizes,
    ports,
    podFs,
    authenticate,
    authorizeOrThrow,
  });

  const server = pki
    ? createHttpsServer(
        { cert: pki.certPem, key: pki.keyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false },
        handler,
      )
    : createHttpServer(handler);
  server.on('upgrade', onUpgrade);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, ok);
  });
  const { port } = server.address() as AddressInfo;

  const self: KubeStandIn = {
    url: `${pki ? 'https' : 'http'}://${host}:${port}`,
    caPem: pki?.caPem ?? '',
    token,
    user: ADMIN,
    requests,
    store,
    resizes,
    create(o) {
      const apiVersion = o.apiVersion ?? 'v1';
      const [group, version] = apiVersion.includes('/')
        ? (apiVersion.split('/') as [string, string])
        : ['', apiVersion];
      const t = [...['namespaces', 'pods', 'secrets', 'configmaps', 'events', 'deployments', 'replicasets']]
        .map((p) => findType(group, version, p))
        .find((x) => x?.kind === o.kind);
      if (!t) throw new Error(`stand-in: no type for ${apiVersion} ${o.kind}`);
      return store.create(t, t.namespaced ? (o.metadata.namespace ?? 'default') : undefined, o);
    },
    writeLog: (ns, pod, text, container) =>
      logs.write(ns, pod, container ?? defaultContainer(store, ns, pod), text),
    endLog: (ns, pod, container) => logs.end(ns, pod, container ?? defaultContainer(store, ns, pod)),
    logFollowers: (ns, pod, container) =>
      logs.followers(ns, pod, container ?? defaultContainer(store, ns, pod)),
    fs: podFs,
    exposePort: (ns, pod, podPort, localPort) => void ports.set(`${ns}/${pod}/${podPort}`, localPort),
    clientCert(user, groups) {
      if (!pki) throw new Error('stand-in: client certificates need tls: true');
      return pki.clientCert(user, groups);
    },
    async stop() {
      terminateAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
      pki?.cleanup();
    },
    hostile: undefined,
  };
  return self;
}

function defaultContainer(store: Store, ns: string, pod: string): string {
  const p = store.get(findType('', 'v1', 'pods')!, ns, pod);
  return ((p.spec as { containers?: { name: string }[] }).containers ?? [])[0]?.name ?? '';
}
