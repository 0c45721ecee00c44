/**
 * The JSON of OPEN (request head) and HEAD (response head) frames, checked field by field: both
 * come from the other end of the channel and are hostile until parsed (docs/http-mux.md).
 * Header names and values follow RFC 9110 §5.1 (token) and §5.5 (field values: no CR, LF, NUL).
 */
import { MAX_HEAD_BYTES } from './frames.ts';

export type HeaderList = [name: string, value: string][];

export interface RequestHead {
  method: string;
  /** Path with query, origin-form (RFC 9112 §3.2.1). */
  path: string;
  headers: HeaderList;
  /** A WebSocket upgrade (exec, attach, port-forward) offering these subprotocols. */
  upgrade?: { protocols: string[] };
}

export interface ResponseHead {
  status: number;
  headers: HeaderList;
  /** For an accepted upgrade (status 101): the subprotocol the API server chose. */
  protocol?: string;
}

/** Most header fields one head carries. */
export const MAX_HEADER_FIELDS = 128;
/** Most subprotocols an upgrade offers (kubectl offers v5, v4, v3, v2, base64 variants). */
export const MAX_SUBPROTOCOLS = 16;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/**
 * A WebSocket subprotocol: an RFC 6455 §4.1 token, or one with `/` in it, since Kubernetes
 * names port-forward's `SPDY/3.1+portforward.k8s.io` so (kubectl ≥ 1.31 asks for it; the `ws`
 * package's own check refuses it, so the connector negotiates it itself). Never a comma or a
 * space: one entry of the header's list.
 */
const SUBPROTOCOL = /^[!#$%&'*+./^_`|~0-9A-Za-z-]{1,256}$/;
// Field values: visible ASCII, space, tab and obs-text; never CR, LF or NUL (RFC 9110 §5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// Origin-form path and query: visible ASCII only, starting with '/' (RFC 9112 §3.2.1).
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
const MAX_PATH = 8 * 1024;

/** Why a head was refused; the stream is RESET with this text (never echoing header values). */
export class HeadError extends Error {}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function json(payload: Uint8Array): Record<string, unknown> {
  if (payload.byteLength > MAX_HEAD_BYTES) throw new HeadError('head too large');
  let v: unknown;
  try {
    v = JSON.parse(utf8Strict.decode(payload));
  } catch {
    throw new HeadError('head is not UTF-8 JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HeadError('head is not an object');
  return v as Record<string, unknown>;
}

function headers(v: unknown): HeaderList {
  if (!Array.isArray(v) || v.length > MAX_HEADER_FIELDS)
    throw new HeadError('headers must be a list of pairs');
  return v.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new HeadError('headers must be a list of pairs');
    const [name, value] = pair as unknown[];
    if (typeof name !== 'string' || !TOKEN.test(name)) throw new HeadError('invalid header name');
    if (typeof value !== 'string' || !FIELD_VALUE.test(value))
      throw new HeadError(`invalid value for header ${name}`);
    return [name, value];
  });
}

function subprotocols(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_SUBPROTOCOLS)
    throw new HeadError('upgrade.protocols must be a list of 1..16 subprotocols');
  for (const p of v)
    if (typeof p !== 'string' || !SUBPROTOCOL.test(p)) throw new HeadError('invalid subprotocol');
  if (new Set(v).size !== v.length) throw new HeadError('a subprotocol offered twice');
  return v as string[];
}

export function parseRequestHead(payload: Uint8Array): RequestHead {
  const o = json(payload);
  const { method, path } = o;
  if (typeof method !== 'string' || !/^[A-Z]{1,16}$/.test(method)) throw new HeadError('invalid method');
  if (typeof path !== 'string' || path.length > MAX_PATH || !ORIGIN_FORM.test(path))
    throw new HeadError('path must be origin-form (/path?query), visible ASCII, at most 8 KiB');
  const head: RequestHead = { method, path, headers: headers(o['headers']) };
  if (o['upgrade'] !== undefined) {
    const u = o['upgrade'];
    if (typeof u !== 'object' || u === null) throw new HeadError('upgrade must be an object');
    if (method !== 'GET') throw new HeadError('a WebSocket upgrade is a GET (RFC 6455 §4.1)');
    head.upgrade = { protocols: subprotocols((u as Record<string, unknown>)['protocols']) };
  }
  return head;
}

export function parseResponseHead(payload: Uint8Array): ResponseHead {
  const o = json(payload);
  const status = o['status'];
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 101 || status > 599)
    throw new HeadError('invalid status');
  const head: ResponseHead = { status, headers: headers(o['headers']) };
  if (o['protocol'] !== undefined) {
    if (status !== 101 || typeof o['protocol'] !== 'string' || !SUBPROTOCOL.test(o['protocol']))
      throw new HeadError('protocol is the subprotocol of an accepted upgrade');
    head.protocol = o['protocol'];
  }
  return head;
}

export function encodeHead(head: RequestHead | ResponseHead): Uint8Array {
  return utf8.encode(JSON.stringify(head));
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) and the ones each hop sets itself: they describe one
 * HTTP connection, not the request, so neither side of the mux forwards them. `host` is the
 * API server's, set by the connector; WebSocket handshake fields are redone by each hop.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
]);

/** The end-to-end fields of a head: hop-by-hop ones and any named in `Connection` removed. */
export function endToEnd(list: HeaderList): HeaderList {
  const named = new Set<string>();
  for (const [n, v] of list)
    if (n.toLowerCase() === 'connection') for (const t of v.split(',')) named.add(t.trim().toLowerCase());
  return list.filter(([n]) => {
    const l = n.toLowerCase();
    return !HOP_BY_HOP.has(l) && !named.has(l);
  });
}
