/**
 * The REST verbs on resources (API conventions, "Verbs on Resources"): list (with limit/continue),
 * get, create, update, patch, delete, deletecollection and watch, plus pods/log. Each returns
 * what to write; watch and log write their own streaming responses.
 */
import type { ServerResponse } from 'node:http';
import type { Logs } from './logs.ts';
import { applyPatch } from './patch.ts';
import type { RequestInfo } from './paths.ts';
import { apiVersionOf, type JsonObject, type KubeObject } from './resources.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import { badRequest, expired, KubeError, success } from './status.ts';
import type { Store, StoreEvent } from './store.ts';
import { includeObjectParam, toTable } from './table.ts';

export interface Reply {
  code: number;
  body: JsonObject;
}

export interface Ctx {
  store: Store;
  logs: Logs;
  info: RequestInfo;
  query: URLSearchParams;
  /** The Accept header asked for a Table. */
  table: boolean;
  /** The parsed request body (create, update, patch). */
  body?: unknown;
  contentType: string;
  /** The server's default for a watch without timeoutSeconds. */
  watchTimeoutSeconds: number;
}

const bare = (o: KubeObject): JsonObject => {
  // Items of a built-in type's list carry no apiVersion/kind (the list does): as kube-apiserver encodes them.
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};

function matcher(c: Ctx) {
  const labels = labelSelector(c.query.get('labelSelector'));
  const fields = fieldSelector(c.query.get('fieldSelector'), c.info.t);
  const name = c.info.name;
  return (o: KubeObject) => labels(o) && fields(o) && (name === undefined || o.metadata.name === name);
}

/** Continue tokens are opaque to clients: base64 of the resourceVersion and the next offset. */
const token = (rv: string, offset: number) => Buffer.from(JSON.stringify({ rv, offset })).toString('base64');
function untoken(s: string | null): number {
  if (!s) return 0;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64').toString()) as { offset?: unknown };
    if (Number.isInteger(v.offset) && (v.offset as number) >= 0) return v.offset as number;
  } catch {
    // fall through
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

function listOf(c: Ctx): Reply {
  const { t } = c.info;
  const all = c.store.list(t, c.info.namespace).filter(matcher(c));
  const start = untoken(c.query.get('continue'));
  const limit = Number(c.query.get('limit') ?? 0);
  const rv = c.store.resourceVersion;
  const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
  const more = limit > 0 && start + limit < all.length;
  const metadata = {
    resourceVersion: rv,
    ...(more ? { continue: token(rv, start + limit), remainingItemCount: all.length - start - limit } : {}),
  };
  if (c.table)
    return {
      code: 200,
      body: {
        ...toTable(t, page, {
          include: includeObjectParam(c.query.get('includeObject')),
          resourceVersion: rv,
        }),
        metadata,
      },
    };
  return {
    code: 200,
    body: { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata, items: page.map(bare) },
  };
}

function one(c: Ctx, o: KubeObject, code = 200): Reply {
  if (c.table)
    return {
      code,
      body: toTable(c.info.t, [o], {
        include: includeObjectParam(c.query.get('includeObject')),
        resourceVersion: o.metadata.resourceVersion,
      }),
    };
  return { code, body: o };
}

const dryRun = (c: Ctx) => c.query.getAll('dryRun').includes('All');

/** The non-streaming verbs. */
export function handle(c: Ctx): Reply {
  const { t, namespace: ns, name, subresource, verb } = c.info;
  if (subresource && subresource !== 'status')
    throw new KubeError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    );
  switch (verb) {
    case 'list':
      return listOf(c);
    case 'get':
      return one(c, c.store.get(t, ns, name!));
    case 'create': {
      if (name !== undefined)
        throw new KubeError(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      const body = c.body as KubeObject;
      if (dryRun(c)) return { code: 201, body: { ...body, apiVersion: apiVersionOf(t), kind: t.kind } };
      return one(c, c.store.create(t, ns, body), 201);
    }
    case 'update':
      return one(c, c.store.update(t, ns, name!, c.body as KubeObject, subresource));
    case 'patch': {
      const old = c.store.get(t, ns, name!);
      const next = applyPatch(c.contentType, old, c.body) as KubeObject;
      if (!next || typeof next !== 'object' || !next.metadata)
        throw badRequest('the patch removed the object metadata');
      if (next.metadata.name !== name)
        throw badRequest('the name of the object does not match the name on the URL');
      // A patch is applied to the current object; its resourceVersion only matters if the patch set one.
      if (JSON.stringify(next.metadata.resourceVersion) === JSON.stringify(old.metadata.resourceVersion))
        delete next.metadata.resourceVersion;
      return one(c, c.store.update(t, ns, name!, next, subresource));
    }
    case 'delete': {
      const gone = c.store.delete(t, ns, name!);
      // Pods and namespaces answer with the object (graceful deletion), other types with a Success Status.
      if (t.kind === 'Pod' || t.kind === 'Namespace') return { code: 200, body: gone };
      return { code: 200, body: success(t, name!, gone.metadata.uid) };
    }
    case 'deletecollection': {
      const victims = c.store.list(t, ns).filter(matcher(c));
      const items = victims.map((o) => bare(c.store.delete(t, ns ?? o.metadata.namespace, o.metadata.name!)));
      return {
        code: 200,
        body: {
          kind: `${t.kind}List`,
          apiVersion: apiVersionOf(t),
          metadata: { resourceVersion: c.store.resourceVersion },
          items,
        },
      };
    }
    default:
      throw new KubeError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
  }
}

/** Go's time.ParseDuration for the `timeout` parameter (`30s`, `1m0s`, `1h`). */
function goDuration(s: string | null): number | undefined {
  if (!s) return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  let seen = '';
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    seen += m[0];
  }
  return seen === s ? total : undefined;
}

/**
 * A watch: one JSON WatchEvent per line (`{"type":"ADDED","object":{...}}`), ADDED for what
 * exists when no resourceVersion (or "0") is given, history after a given resourceVersion,
 * BOOKMARK after initial events when `sendInitialEvents=true`, ERROR 410 when too old, and the
 * end of the response after timeoutSeconds (or `timeout`).
 */
export function watch(c: Ctx, res: ServerResponse) {
  const { t } = c.info;
  const match = matcher(c);
  const inScope = (o: KubeObject) =>
    (c.info.namespace === undefined || o.metadata.namespace === c.info.namespace) && match(o);
  const include = includeObjectParam(c.query.get('includeObject'));
  let headers = true;
  const out = (type: string, o: KubeObject | JsonObject) => {
    let object = o;
    if (c.table && type !== 'ERROR' && type !== 'BOOKMARK') {
      object = toTable(t, [o as KubeObject], {
        include,
        resourceVersion: (o as KubeObject).metadata.resourceVersion,
        headers,
      });
      headers = false;
    }
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  const rvParam = c.query.get('resourceVersion');
  const initial = c.query.get('sendInitialEvents') === 'true';
  const fromNow = !rvParam || rvParam === '0' || initial;
  let since = Number(rvParam);
  if (!fromNow && (!Number.isInteger(since) || since < 0))
    throw badRequest(`invalid resource version: ${rvParam}`);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  // Headers go out now, as kube-apiserver flushes them: clients wait for them before reading events.
  res.flushHeaders();
  if (fromNow) {
    for (const o of c.store.list(t, c.info.namespace).filter(inScope))
      out('ADDED', { ...o, apiVersion: apiVersionOf(t), kind: t.kind });
    if (initial && c.query.get('allowWatchBookmarks') === 'true')
      out('BOOKMARK', {
        kind: t.kind,
        apiVersion: apiVersionOf(t),
        metadata: {
          resourceVersion: c.store.resourceVersion,
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    since = Number(c.store.resourceVersion);
  }
  let unsubscribe = () => {};
  try {
    unsubscribe = c.store.watch(since, (e: StoreEvent) => {
      if (e.t === t && inScope(e.object)) out(e.type, e.object);
    });
  } catch (e) {
    if (!(e instanceof KubeError)) throw e;
    out('ERROR', expired(String(since)).status());
    res.end();
    return;
  }
  const seconds = Number(c.query.get('timeoutSeconds') ?? NaN);
  const limit =
    Number.isFinite(seconds) && seconds > 0
      ? seconds
      : (goDuration(c.query.get('timeout')) ?? c.watchTimeoutSeconds);
  const timer = setTimeout(() => res.end(), limit * 1000);
  res.on('close', () => {
    clearTimeout(timer);
    unsubscribe();
  });
}

/** pods/log: text/plain, streamed while following. */
export function podLog(c: Ctx, res: ServerResponse) {
  const { t, namespace: ns, name } = c.info;
  const pod = c.store.get(t, ns, name!);
  const names = ((pod.spec as { containers?: { name: string }[] }).containers ?? []).map((x) => x.name);
  const container = c.query.get('container') || (names.length === 1 ? names[0]! : undefined);
  if (!container)
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`,
    );
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const int = (k: string) => {
    const v = c.query.get(k);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw badRequest(`${k}: Invalid value: ${JSON.stringify(v)}`);
    return n;
  };
  const q = {
    follow: c.query.get('follow') === 'true',
    timestamps: c.query.get('timestamps') === 'true',
    tailLines: int('tailLines'),
    limitBytes: int('limitBytes'),
  };
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const stop = c.logs.stream(
    ns!,
    name!,
    container,
    q,
    (s) => res.write(s),
    () => res.end(),
  );
  res.on('close', stop);
}
