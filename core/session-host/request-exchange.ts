/**
 * The optional capability of a request-oriented protocol (Kubernetes: one HTTP request at a
 * time from kubectl, many in flight) on top of the byte-oriented session host
 * (protocol.ts). A byte protocol has one client socket (`clientData`/`toClient`); a request
 * protocol has none: the host hands each HTTP request it receives for the session to
 * `session.requests.open`, and the module answers through the `ExchangeReply` it is given. The
 * data channel to the target stays the ordinary one (`toTarget`/`targetData`).
 *
 * The host reads a request body whole before it opens the exchange (bounded by
 * `MAX_EXCHANGE_BODY_BYTES`), so the module can decide and audit it before a byte is forwarded.
 * Response bytes go out as the module gives them; `data(bytes, done)` calls `done` once the
 * client's side took them, which is when the module grants its target more credit.
 */

/** Largest request body the host reads for a module (kube-apiserver's own limit is 3 MiB). */
export const MAX_EXCHANGE_BODY_BYTES = 3 * 1024 * 1024;

export interface ExchangeRequest {
  method: string;
  /** The origin-form path as the client sent it (percent-encoding kept), without the query. */
  path: string;
  /** The raw query without `?` ('' when none). */
  query: string;
  /** Header fields as received (names lower case). */
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** A WebSocket upgrade offering these subprotocols (exec, attach, port-forward). */
  upgrade?: { protocols: string[] };
}

/** What the module sends the client of one exchange (the host writes it to the HTTP response). */
export interface ExchangeReply {
  /** The response head; 101 (with the chosen subprotocol) accepts an upgrade. Once. */
  head(status: number, headers: Array<[string, string]>, protocol?: string): void;
  /** Body bytes (HTTP) ; `done` once the client side took them. */
  data(bytes: Uint8Array, done: () => void): void;
  /** One WebSocket message (upgraded exchanges); `done` once sent. */
  message(binary: boolean, payload: Uint8Array, done: () => void): void;
  /** The response is complete. */
  end(): void;
  /** The response is cut off (after the head) or the upgraded socket closes with an error. */
  abort(why: string): void;
}

/** The module's handle on one exchange, for what the client does after the request. */
export interface Exchange {
  /** A WebSocket message from the client (upgraded exchanges only). */
  message(binary: boolean, payload: Uint8Array): void;
  /** The client went away or closed its socket: stop the exchange, tell the target. */
  cancel(): void;
}

export interface RequestExchanges {
  open(request: ExchangeRequest, reply: ExchangeReply): Exchange;
  /** Number of exchanges not yet ended (the host's idle timer runs only when it is 0). */
  active(): number;
}

/** Why the host refuses a request itself (`too-large`: the message is the limit in bytes). */
export type ExchangeRefusalKind = 'unavailable' | 'too-large' | 'gateway-error' | 'unauthenticated';

/** A whole answer the host writes as it is. */
export interface ExchangeAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}
