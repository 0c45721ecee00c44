/**
 * The stand-in's request log: every HTTP request and upgrade is recorded before it is handled, so
 * tests can assert on the headers a client really sent (Authorization, Impersonate-*, Accept...)
 * and on the answer it got.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity } from './auth.ts';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Every header as received (Authorization, Impersonate-*, Accept...). */
  headers: IncomingMessage['headers'];
  /** The identity after impersonation; undefined when authentication failed. */
  identity?: Identity;
  /** The request body as received (create, update, patch). */
  body?: Uint8Array;
  /** The response status (101 for an upgrade). */
  status?: number;
}

/** Appends a record of `req` (headers copied as received) to `requests` and returns it to fill in. */
export function recordRequest(requests: RecordedRequest[], req: IncomingMessage): RecordedRequest {
  const r: RecordedRequest = {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: { ...req.headers },
  };
  requests.push(r);
  return r;
}
