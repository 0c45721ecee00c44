/**
 * The one place errors become HTTP responses, for the socket routes, the admin API and the user
 * API alike (style.md #4/#5): one body shape, `{ error: { code, message, field?, ... } }`, and
 * one `app.onError` (workers/index.ts). PosternError codes go through an exhaustive switch, so a
 * new code does not compile until it has an HTTP meaning here. Internal detail (driver errors,
 * key problems, which token check failed) goes to the log, never to the response.
 */
import { HTTPException } from 'hono/http-exception';
import { isPosternError, type ErrorCode } from '../core/errors.ts';
import { CONTROL_PLANE_UNAVAILABLE_MESSAGE, loggable } from './db/pg-errors.ts';

/** Every `error.code` the edge answers with (approval refusals add their own, docs/approvals.md). */
export type ApiErrorCode =
  | 'invalid_input'
  | 'invalid_policy'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'connection_not_found'
  | 'conflict'
  | 'too_large'
  | 'upgrade_required'
  | 'connector_offline'
  | 'control_plane_unavailable'
  | 'policy_unavailable'
  | 'upstream_error'
  | 'internal';

export interface PolicyProblemBody {
  message: string;
  line: number;
  column: number;
}

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; field?: string; problems?: PolicyProblemBody[] };
}

export type Status = 400 | 401 | 403 | 404 | 409 | 413 | 426 | 500 | 502 | 503;

/** Builds an error response; `field` names the offending input (dotted path). */
export function httpError(status: Status, code: ApiErrorCode, message: string, field?: string): Response {
  const body: ApiErrorBody = { error: { code, message, ...(field !== undefined ? { field } : {}) } };
  return Response.json(body, { status });
}

/**
 * An approval refusal (`self_approval`, `not_an_approver`, `not_pending`, `expired`,
 * `already_voted`, `too_many_pending`; docs/approvals.md): the same body with its own code, so
 * scripts can tell them apart, and `extra` fields such as the approver `group`.
 */
export function refusal(
  status: 403 | 409,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): Response {
  return Response.json({ error: { code, message, ...extra } }, { status });
}

/**
 * What an unauthenticated caller is told, whichever check failed (expired, wrong audience,
 * untrusted issuer, no token, a wrong bootstrap token): style.md #4.
 */
export const UNAUTHORIZED_MESSAGE =
  'missing or rejected credentials (expired, or issuer/audience not trusted)';

/** PosternError code → HTTP status, API code and whether the message may be shown. */
export function mapErrorCode(code: ErrorCode): { status: Status; api: ApiErrorCode; showMessage: boolean } {
  switch (code) {
    case 'INVALID_INPUT':
    case 'PROTOCOL_VIOLATION':
      return { status: 400, api: 'invalid_input', showMessage: true };
    case 'MESSAGE_TOO_LARGE':
      return { status: 413, api: 'too_large', showMessage: true };
    // Never say which check failed to someone who is not authenticated.
    case 'TOKEN_INVALID':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_UNTRUSTED_ISSUER':
      return { status: 401, api: 'unauthorized', showMessage: false };
    case 'FORBIDDEN':
      return { status: 403, api: 'forbidden', showMessage: true };
    case 'NOT_FOUND':
      return { status: 404, api: 'not_found', showMessage: true };
    case 'CONFLICT':
      return { status: 409, api: 'conflict', showMessage: true };
    case 'CONNECTOR_OFFLINE':
      return { status: 503, api: 'connector_offline', showMessage: true };
    case 'CONTROL_PLANE_UNAVAILABLE':
      return { status: 503, api: 'control_plane_unavailable', showMessage: true };
    case 'UPSTREAM_AUTH_FAILED':
    case 'UPSTREAM_UNREACHABLE':
    case 'UPSTREAM_UNSUPPORTED_AUTH':
      return { status: 502, api: 'upstream_error', showMessage: false };
    case 'CONFIG_INVALID':
    case 'CRYPTO_FAILED':
    case 'INTERNAL':
      return { status: 500, api: 'internal', showMessage: false };
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

const GENERIC: Record<ApiErrorCode, string> = {
  invalid_input: 'invalid input',
  invalid_policy: 'invalid policy',
  unauthorized: UNAUTHORIZED_MESSAGE,
  forbidden: 'forbidden',
  not_found: 'not found',
  connection_not_found: 'unknown connection',
  conflict: 'conflict',
  too_large: 'request too large',
  upgrade_required: 'expected a WebSocket upgrade',
  connector_offline: 'connector offline',
  control_plane_unavailable: CONTROL_PLANE_UNAVAILABLE_MESSAGE,
  policy_unavailable: 'the policies of this connection could not be loaded; ask an admin',
  upstream_error: 'upstream error',
  internal: 'internal error',
};

/** The edge's `app.onError`: any thrown error → the one body shape. */
export function errorToResponse(e: unknown): Response {
  if (isPosternError(e)) {
    const m = mapErrorCode(e.code);
    if (m.status >= 500)
      console.error(JSON.stringify({ msg: 'request failed', code: e.code, error: e.message }));
    else if (m.status === 401)
      console.warn(JSON.stringify({ msg: 'authentication failed', code: e.code, error: e.message }));
    const field = typeof e.detail?.['field'] === 'string' ? e.detail['field'] : undefined;
    const problems = e.detail?.['problems'];
    if (e.code === 'INVALID_INPUT' && Array.isArray(problems)) {
      const body: ApiErrorBody = {
        error: {
          code: 'invalid_policy',
          message: e.message,
          field: field ?? 'text',
          problems: problems as PolicyProblemBody[],
        },
      };
      return Response.json(body, { status: 400 });
    }
    return httpError(m.status, m.api, m.showMessage ? e.message : GENERIC[m.api], field);
  }
  if (e instanceof HTTPException) {
    // Raised by hono itself: malformed JSON body (400), body limit (413).
    if (e.status === 413) return httpError(413, 'too_large', GENERIC.too_large);
    if (e.status === 400) return httpError(400, 'invalid_input', 'request body is not valid JSON', 'body');
    if (e.status === 401) return httpError(401, 'unauthorized', GENERIC.unauthorized);
  }
  // loggable(): a driver error's message carries its SQL parameters (a token hash, a ciphertext).
  console.error(JSON.stringify({ msg: 'unhandled error', ...loggable(e) }));
  return httpError(500, 'internal', GENERIC.internal);
}
