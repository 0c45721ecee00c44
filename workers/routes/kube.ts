/**
 * `/v1/kube/<connection>/<API path>` (and any path on `<connection>.<BASE_DOMAIN>`): kubectl's
 * requests, any method, WebSocket upgrades included (docs/kubernetes.md "Through the edge").
 *
 * A Kubernetes session is ONE token's use of ONE connection: every request carrying the same
 * token goes to the same SessionDO, named by a hash of issuer, subject, the token's own hash and
 * the connection (never the raw token), which dials one data channel and multiplexes all of them
 * over it. The session ends when the token expires or idles; the token's next request then
 * starts its next session in the next object of the same name (`#<generation>`).
 *
 * Refusals here are Kubernetes `Status` objects, so kubectl prints them: 401 with how to get a
 * token, 403 when no policy permits `connect`, 404 for an unknown or non-Kubernetes connection.
 */
import type { Context } from 'hono';
import type { Env } from '../../edge/env.ts';
import { authenticate, readBearer } from '../auth/bearer.ts';
import { lookupConnection } from './connection-cache.ts';
import { NAME_PATTERN } from '../names.ts';
import { admitSession } from './connect.ts';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import { BoundedCache } from '../../core/bounded-cache.ts';
import { isPosternError } from '../../core/errors.ts';
import { forbidden, serviceUnavailable, statusResponse, type KubeStatus } from '../../core/kube/status.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { refusalStatus } from '../../core/kube/refusal.ts';
import { MAX_EXCHANGE_BODY_BYTES } from '../../core/session-host/request-exchange.ts';
import { EXCHANGE_STATE_HEADER } from '../../edge/contracts/rpc.ts';
import { readBounded } from '../../edge/read-bounded.ts';

/** Sessions one token may go through (each ends by idling); a token lives at most hours. */
export const MAX_GENERATIONS = 64;
const generations = new BoundedCache<number>(10_000);

const UNAUTHORIZED =
  'Unauthorized: Postern needs a valid OIDC token for this connection. Write a kubeconfig context with ' +
  '`postern kube-config <connection>` (kubectl then runs `postern kube-credential`), and check its token ' +
  'source (POSTERN_TOKEN, --token-file, POSTERN_ISSUER/_CLIENT_ID/_CLIENT_SECRET) is set and not expired.';

function statusOf(s: KubeStatus): Response {
  const r = statusResponse(s);
  return new Response(r.body, { status: r.code, headers: r.headers });
}

function notFound(message: string): Response {
  return new Response(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason: 'NotFound',
      code: 404,
    }),
    { status: 404, headers: { 'content-type': 'application/json' } },
  );
}

/** The API path after `/v1/kube/<connection>` (or the whole path on a connection's host). */
export function kubePath(pathname: string, connection: string | null): string {
  if (connection === null) return pathname;
  const prefix = `/v1/kube/${connection}`;
  const rest = pathname.slice(prefix.length);
  return rest === '' ? '/' : rest;
}

export async function kubeRoute(c: Context<{ Bindings: Env }>, connectionName: string, apiPath: string) {
  let identity: Identity;
  try {
    identity = await authenticate(c.req.raw, c.env, new Date());
  } catch (e) {
    if (!isPosternError(e)) throw e;
    console.warn(JSON.stringify({ msg: 'kube request unauthenticated', code: e.code }));
    return statusOf({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: UNAUTHORIZED,
      reason: 'Unauthorized',
      code: 401,
    });
  }
  if (!NAME_PATTERN.test(connectionName)) return notFound('unknown connection');
  const cached = await lookupConnection(c.env, connectionName, Date.now());
  if (!cached || cached.connection.protocol !== 'kubernetes')
    return notFound(`connection "${connectionName}" is not a Kubernetes connection here`);
  const { connection, policies } = cached;

  const token = readBearer(c.req.raw)!;
  const key = await sha256Hex(
    JSON.stringify([identity.issuer, identity.subject, await sha256Hex(token), connection.id]),
  );
  // Read once, so the request can be sent again to the session's next object (bounded as the
  // session would bound it: a body over it is refused here, before any object is asked).
  const raw = c.req.raw;
  const body =
    raw.method === 'GET' || raw.method === 'HEAD' ? null : await readBounded(raw, MAX_EXCHANGE_BODY_BYTES);
  if (body === undefined)
    return statusOf(refusalStatus({ kind: 'body-too-large', limit: MAX_EXCHANGE_BODY_BYTES }));
  // ONE call per request while the session runs: the object answers a request it cannot serve
  // with its state (EXCHANGE_STATE_HEADER), and only then is it begun or the next one tried.
  let gen = generations.get(key) ?? 0;
  for (; gen < MAX_GENERATIONS; gen++) {
    const id = c.env.SESSION.idFromName(`kube:${key}#${gen}`);
    const session = c.env.SESSION.get(id);
    let res = await session.fetch(forwarded(raw, apiPath, body));
    if (res.headers.get(EXCHANGE_STATE_HEADER) === 'fresh') {
      const admitted = await admitSession(
        c.env,
        connection,
        policies,
        identity,
        id.toString(),
        new URL(c.req.url).origin,
        (c.req.header('user-agent') ?? 'kubernetes client').slice(0, 128),
      );
      if (!admitted.ok) {
        return statusOf(forbidden({ group: '', resource: '', name: '' }, admitted.message));
      }
      if ((await session.exchangeBegin(admitted.start)) === 'ended') continue;
      res = await session.fetch(forwarded(raw, apiPath, body));
    }
    // Still not served: this object's session is over (or was lost); the next one serves.
    if (res.headers.has(EXCHANGE_STATE_HEADER)) continue;
    generations.set(key, gen);
    return res;
  }
  return statusOf(
    serviceUnavailable(
      'this token has used up its Postern sessions: get a new token (postern kube-credential)',
    ),
  );
}

/** The client's request as the SessionDO takes it: same method, headers, body and upgrade. */
function forwarded(req: Request, apiPath: string, body: Uint8Array<ArrayBuffer> | null): Request {
  const search = new URL(req.url).search;
  const headers = new Headers();
  for (const [name, value] of req.headers) {
    // The platform's own fields are not the client's request.
    if (name.startsWith('cf-') || name === 'x-real-ip') continue;
    headers.append(name, value);
  }
  return new Request(`https://session/exchange${apiPath}${search}`, {
    method: req.method,
    headers,
    ...(body === null ? {} : { body }),
  });
}
