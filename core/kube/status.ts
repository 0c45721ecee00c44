/**
 * What the gateway answers a Kubernetes client with when it does not forward: a `v1 Status`
 * shaped as the API server shapes its own (k8s.io/apimachinery pkg/api/errors/errors.go), so
 * kubectl and client libraries print it as they print the server's ("Error from server
 * (Forbidden): pods "web-1" is forbidden: ...") and classify it by `reason` and `code`
 * (apierrors.IsForbidden, retry on 429/503 with `retryAfterSeconds`).
 *
 * Field order and omissions follow Go's encoding of metav1.Status: kind, apiVersion, metadata
 * (an empty ListMeta is `{}`), status, message, reason, details (omitted when empty; each of its
 * fields omitempty), code.
 */
import type { KubeTarget } from './kube-gate.ts';

export type StatusReason =
  | 'Unauthorized'
  | 'Forbidden'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** The HTTP status of each reason, as errors.go pairs them. */
export const STATUS_CODES: Record<StatusReason, number> = {
  Unauthorized: 401,
  Forbidden: 403,
  BadRequest: 400,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

function status(reason: StatusReason, message: string, details?: StatusDetails): KubeStatus {
  const d: StatusDetails = {};
  if (details?.name) d.name = details.name;
  if (details?.group) d.group = details.group;
  if (details?.kind) d.kind = details.kind;
  if (details?.retryAfterSeconds) d.retryAfterSeconds = details.retryAfterSeconds;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(Object.keys(d).length > 0 ? { details: d } : {}),
    code: STATUS_CODES[reason],
  };
}

/**
 * NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <why>` (without the name when the
 * request names none; `forbidden: <why>` when it names no resource), details {name, group, kind}
 * where kind is the resource, as the server fills it.
 */
export function forbidden(target: KubeTarget, why: string): KubeStatus {
  const qualified = target.group ? `${target.resource}.${target.group}` : target.resource;
  const message =
    qualified === ''
      ? `forbidden: ${why}`
      : target.name === ''
        ? `${qualified} is forbidden: ${why}`
        : `${qualified} ${JSON.stringify(target.name)} is forbidden: ${why}`;
  return status('Forbidden', message, { name: target.name, group: target.group, kind: target.resource });
}

/** The token is missing, invalid or expired (the server's own answer is exactly "Unauthorized"). */
export const unauthorized = (): KubeStatus => status('Unauthorized', 'Unauthorized');

export const badRequest = (message: string): KubeStatus => status('BadRequest', message);

export const methodNotAllowed = (message: string): KubeStatus => status('MethodNotAllowed', message);

export const notAcceptable = (message: string): KubeStatus => status('NotAcceptable', message);

/** NewRequestEntityTooLargeError. */
export const tooLarge = (message: string): KubeStatus =>
  status('RequestEntityTooLarge', `Request entity too large: ${message}`);

/** NewTooManyRequests: the client retries after `retryAfterSeconds` (and the Retry-After header). */
export const tooManyRequests = (message: string, retryAfterSeconds: number): KubeStatus =>
  status('TooManyRequests', message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });

/** The cluster cannot be reached (no connector, dial refused): clients retry. */
export const serviceUnavailable = (message: string): KubeStatus => status('ServiceUnavailable', message);

/** NewTimeoutError: the API server did not answer in time. */
export const timeout = (message: string, retryAfterSeconds = 0): KubeStatus =>
  status('Timeout', `Timeout: ${message}`, { retryAfterSeconds });

/** A response Postern cannot pass (one it cannot mask, one over its bound): not retried by clients. */
export const internalError = (message: string): KubeStatus =>
  status('InternalError', `Internal error occurred: ${message}`);

/** The Status's HTTP response parts (kubectl reads the body; the code must agree with it). */
export function statusResponse(s: KubeStatus): {
  code: number;
  headers: Record<string, string>;
  body: string;
} {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (s.details?.retryAfterSeconds) headers['retry-after'] = String(s.details.retryAfterSeconds);
  return { code: s.code, headers, body: JSON.stringify(s) };
}
