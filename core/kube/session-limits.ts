/**
 * The bounds of one Kubernetes session (kube-session.ts): how many requests and request bytes it
 * holds at once, how much of a response may be in flight, and how long it waits for a response
 * head or an exec's quiet output. Each says why it is what it is.
 */

/** Requests waiting for the data channel or a free stream; past it, 429 (kubectl retries). */
export const MAX_WAITING_REQUESTS = 256;
/** Request body bytes held by the session at once (each body is read whole to be audited). */
export const MAX_BODY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/**
 * Receive window of a response read whole before it is masked (mux-side.ts `widen`): a Secret
 * list of a few MB then crosses the channel without a credit round trip per 256 KiB. Such a body
 * is held here whole anyway (and refused past its cap, kube-response.ts), so this bounds only
 * what may be in flight for it, not what the session holds.
 */
export const WHOLE_BODY_WINDOW = 4 * 1024 * 1024;
/**
 * A forwarded request whose response head has not gone to the client this long after it was
 * forwarded is ended (504 Status, stream RESET). A response read whole before masking sends its
 * head only once the body is complete, so until then nothing tells this session that the client
 * left: without a deadline, an API server that never ends such a body kept the request, its
 * stream and what it had buffered for as long as the session lasted. The API server itself ends
 * a request that is not a watch, exec or log at 60 s (its --request-timeout default); watches,
 * logs and exec send their head at once and are not affected.
 */
export const RESPONSE_HEAD_DEADLINE_MS = 90_000;
/** Quiet time after which an exec's masker lets out what it held (as SSH terminals). */
export const EXEC_IDLE_MS = 30;
