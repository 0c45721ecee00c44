/**
 * What happens to a Kubernetes session's open streams when its token expires (issue 12: "a
 * token that expires mid-watch ends the watch"). A Kubernetes session is one token's use of one
 * connection, so it ends with the token: `kubectl get -w`, `logs -f`, `exec -it` and
 * `port-forward` would otherwise run on for as long as the client keeps them open, with an
 * identity nobody vouches for any more. The host sets an alarm at `expiryAt` and, when it fires,
 * ends each open stream as `ending` says; requests after it are refused 401 (a new token makes
 * a new session: kubectl's credential plugin fetches one once the ExecCredential expires).
 *
 * The end is at the token's `exp`, without the verifier's clock leeway: client-go stops using an
 * ExecCredential at its `expirationTimestamp` (= exp, cli/kube-credential), so nothing lost.
 * Plain requests already forwarded (a get, a list) finish: they were decided while the token
 * was valid and their bodies are bounded.
 *
 * Each ending is one the client shows (checked with kubectl 1.32):
 *  - a watch gets a last event `{"type":"ERROR","object":<Status 401 Unauthorized>}` then its
 *    end: `kubectl get -w` prints the Status (STATUS Failure, REASON Unauthorized, MESSAGE ...)
 *    and exits; client-go's reflectors retry the watch, with a fresh credential;
 *  - exec and attach get an error-channel Status (exec-stream.ts `end`): kubectl prints its
 *    message, as for a command that failed;
 *  - a log (text) and a port-forward end: a log has no place for a message that is not the
 *    container's, a forwarded port carries someone else's protocol.
 */
import type { ResponseHandling } from './mask/content-type.ts';
import type { KubeRequest } from './request.ts';
import type { KubeStatus } from './status.ts';

/** The open streams the host tracks, by what their bytes are. */
export type ExpiringStream = 'watch' | 'text' | 'remote-command' | 'port-forward' | 'request';

export type ExpiryEnding =
  /**
   * Send `last` on the response, then end it normally: after the last whole event the watch
   * masker let out (it holds only an unfinished one, which is dropped, never sent in part).
   */
  | { end: 'watch'; last: Uint8Array }
  /** ExecStream.end(message), send what it returns, then close the WebSocket (1000). */
  | { end: 'remote-command'; message: string }
  /** End the response (text) or close the WebSocket (port-forward, 1000) with nothing more. */
  | { end: 'close' }
  /** Let it finish. */
  | { end: 'none' };

const enc = new TextEncoder();

/** When the session ends, in epoch milliseconds, for a token expiring at `exp` (epoch seconds). */
export function expiryAt(exp: number): number {
  return exp * 1000;
}

/** Milliseconds from `now` until the session ends (0 when it already has). */
export function msUntilExpiry(exp: number, now: number): number {
  return Math.max(0, expiryAt(exp) - now);
}

/** What the client is told; it names no secret, only when and what to do. */
export function expiryMessage(exp: number): string {
  return `the token of this Postern session expired at ${new Date(expiryAt(exp)).toISOString()}; run the command again (kubectl fetches a new token through postern kube-credential)`;
}

/** The Status a watch ends with (the API server's own 401 shape, apimachinery errors.go). */
export function expiryStatus(exp: number): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: expiryMessage(exp),
    reason: 'Unauthorized',
    code: 401,
  };
}

/** How to end one open stream when the token expires. */
export function expiryEnding(stream: ExpiringStream, exp: number): ExpiryEnding {
  switch (stream) {
    case 'watch':
      // One JSON event per line, as the API server writes watch events (watch framing).
      return {
        end: 'watch',
        last: enc.encode(`${JSON.stringify({ type: 'ERROR', object: expiryStatus(exp) })}\n`),
      };
    case 'remote-command':
      return { end: 'remote-command', message: expiryMessage(exp) };
    case 'text':
    case 'port-forward':
      return { end: 'close' };
    case 'request':
      return { end: 'none' };
  }
}

/** Which kind of open stream a forwarded request is, by its action and its response handling. */
export function expiringStream(kube: KubeRequest, handling: ResponseHandling | undefined): ExpiringStream {
  if (kube.kind === 'resource') {
    if (kube.action === 'k8s:exec' || kube.action === 'k8s:attach') return 'remote-command';
    if (kube.action === 'k8s:portforward') return 'port-forward';
  }
  if (handling === 'watch') return 'watch';
  if (handling === 'text') return 'text';
  return 'request';
}
