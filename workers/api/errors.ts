/**
 * The admin API's one error shape, `{ error: { code, message, field? } }`, and the one place
 * that maps errors to it (style.md #4/#5). PosternError codes go through an exhaustive switch, so
 * a new code does not compile until it has an HTTP meaning here. Internal detail (driver errors,
 * key problems) goes to the log, never to the response.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { isPosternError, type ErrorCode } from '../../core/errors.ts';

export type ApiErrorCode =
  | 'invalid_input'
  | 'invalid_policy'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'connector_offline'
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

type Status = 400 | 401 | 403 | 404 | 409 | 413 | 500 | 502 | 503;

/** Builds an error response; `field` names the offending input (dotted path). */
export function apiError(status: Status, code: ApiErrorCode, message: string, field?: string): Response {
  const body: ApiErrorBody = { error: { code, message, ...(field !== undefined ? { field } : {}) } };
  return Response.json(body, { status });
}

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
  unauthorized: 'missing or invalid admin credentials',
  forbidden: 'forbidden',
  not_found: 'not found',
  conflict: 'conflict',
  too_large: 'request too large',
  connector_offline: 'connector offline',
  upstream_error: 'upstream error',
  internal: 'internal error',
};

/**
 * drizzle's DrizzleQueryError message carries the SQL and its parameters (which may be a token
 * hash or a ciphertext); log only the driver's own message and SQLSTATE.
 */
export function loggable(e: unknown): Record<string, unknown> {
  const cause = (e as { cause?: unknown })?.cause;
  const inner = cause instanceof Error ? cause : e;
  return {
    error: inner instanceof Error ? `${inner.name}: ${inner.message}` : typeof inner,
    sqlState: (inner as { code?: unknown })?.code,
  };
}

/** `app.onError` for the admin API. */
export function errorToApiResponse(e: unknown): Response {
  if (isPosternError(e)) {
    const m = mapErrorCode(e.code);
    if (m.status >= 500)
      console.error(JSON.stringify({ msg: 'admin api error', code: e.code, error: e.message }));
    const field = typeof e.detail?.['field'] === 'string' ? e.detail['field'] : undefined;
    const problems = e.detail?.['problems'];
    if (e.code === 'INVALID_INPUT' && Array.isArray(problems)) {
      const body: ApiErrorBody = {
        error: {
          code: 'invalid_policy',
          message: e.message,
          field: 'text',
          problems: problems as PolicyProblemBody[],
        },
      };
      return Response.json(body, { status: 400 });
    }
    return apiError(m.status, m.api, m.showMessage ? e.message : GENERIC[m.api], field);
  }
  if (e instanceof HTTPException) {
    // Raised by hono itself: malformed JSON body (400), body limit (413).
    if (e.status === 413) return apiError(413, 'too_large', GENERIC.too_large);
    if (e.status === 400) return apiError(400, 'invalid_input', 'request body is not valid JSON', 'body');
    if (e.status === 401) return apiError(401, 'unauthorized', GENERIC.unauthorized);
  }
  console.error(JSON.stringify({ msg: 'admin api unhandled error', ...loggable(e) }));
  return apiError(500, 'internal', GENERIC.internal);
}

/**
 * OpenAPIHono `defaultHook`: a failed request validation becomes 400 naming the first offending
 * field as a dotted path (`target.port`). zod messages describe the rule, not the value, so no
 * submitted secret is echoed.
 */
export function validationHook(
  result: { target: string } & ({ success: true } | { success: false; error: ZodError }),
  _c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  // An unknown key is reported at its parent object; name the key itself.
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const field = path.join('.') || (result.target === 'json' ? 'body' : result.target);
  return apiError(400, 'invalid_input', `${field}: ${issue?.message ?? 'invalid'}`, field);
}
