/**
 * One HTTP request of a request-oriented session (Kubernetes) handed to its module
 * (core/session-host/request-exchange.ts): the body read whole and bounded, then the module's
 * reply written as the Response (streamed: a watch goes out event by event) or, for an accepted
 * WebSocket upgrade, as a WebSocket pair whose messages go both ways.
 */
import {
  MAX_EXCHANGE_BODY_BYTES,
  type Exchange,
  type ExchangeAnswer,
  type ExchangeRefusalKind,
  type ExchangeReply,
  type ExchangeRequest,
  type RequestExchanges,
} from '../../core/session-host/request-exchange.ts';
import { EXCHANGE_STATE_HEADER } from '../../edge/contracts/rpc.ts';
import { readBounded } from '../../edge/read-bounded.ts';

/** Where the Worker forwards a session's requests: `/exchange<path>?<query>`. */
export const EXCHANGE_PREFIX = '/exchange';

export type Refuse = (kind: ExchangeRefusalKind, message: string) => Response;

export function answerResponse(a: ExchangeAnswer): Response {
  const headers = a.headers.filter(([n]) => n.toLowerCase() !== EXCHANGE_STATE_HEADER);
  return new Response(a.body, { status: a.status, headers });
}

/** Statuses whose response has no body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 205, 304]);

export async function serveExchange(
  request: Request,
  exchanges: RequestExchanges,
  refuse: Refuse,
  onEnd: () => void,
): Promise<Response> {
  const url = new URL(request.url);
  const body = await readBounded(request, MAX_EXCHANGE_BODY_BYTES);
  if (!body) return refuse('too-large', String(MAX_EXCHANGE_BODY_BYTES));
  const upgrade = request.headers.get('Upgrade')?.toLowerCase() === 'websocket';
  const req: ExchangeRequest = {
    method: request.method,
    path: url.pathname.slice(EXCHANGE_PREFIX.length) || '/',
    query: url.search.slice(1),
    headers: [...request.headers],
    body,
    ...(upgrade
      ? {
          upgrade: {
            protocols: (request.headers.get('Sec-WebSocket-Protocol') ?? '')
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean),
          },
        }
      : {}),
  };
  const noBody = request.method === 'HEAD';
  return new Promise<Response>((resolve) => {
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    let ws: WebSocket | undefined;
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      onEnd();
    };
    const reply: ExchangeReply = {
      head(status, headers, protocol) {
        if (status === 101 && upgrade) {
          const pair = new WebSocketPair();
          ws = pair[1];
          ws.binaryType = 'arraybuffer';
          ws.accept();
          ws.addEventListener('message', (e) => {
            const binary = typeof e.data !== 'string';
            const bytes = binary
              ? new Uint8Array(e.data as ArrayBuffer)
              : new TextEncoder().encode(e.data as string);
            handle.message(binary, bytes);
          });
          const gone = () => {
            handle.cancel();
            finish();
          };
          ws.addEventListener('close', gone);
          ws.addEventListener('error', gone);
          const h = new Headers();
          if (protocol) h.set('Sec-WebSocket-Protocol', protocol);
          return resolve(new Response(null, { status: 101, webSocket: pair[0], headers: h }));
        }
        // The object's own answer to the Worker (rpc.ts EXCHANGE_STATE_HEADER) is never relayed.
        const relayed = headers.filter(([n]) => n.toLowerCase() !== EXCHANGE_STATE_HEADER);
        if (NO_BODY.has(status) || noBody || status === 101) {
          return resolve(new Response(null, { status: status === 101 ? 502 : status, headers: relayed }));
        }
        const ts = new TransformStream<Uint8Array, Uint8Array>();
        writer = ts.writable.getWriter();
        resolve(new Response(ts.readable, { status, headers: relayed }));
      },
      data(bytes, done) {
        if (!writer) return done();
        writer.write(bytes).then(done, () => {
          handle.cancel();
          finish();
        });
      },
      message(binary, payload, done) {
        try {
          ws?.send(binary ? payload : new TextDecoder().decode(payload));
        } catch {
          handle.cancel();
        }
        done();
      },
      end() {
        writer?.close().catch(() => undefined);
        closeQuietly(ws, 1000, 'done');
        finish();
      },
      abort(why) {
        writer?.abort(why).catch(() => undefined);
        closeQuietly(ws, 1011, why);
        finish();
      },
    };
    const handle: Exchange = exchanges.open(req, reply);
  });
}

function closeQuietly(ws: WebSocket | undefined, code: number, reason: string): void {
  if (!ws) return;
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}
