/**
 * The one place errors become HTTP responses (style.md #4/#5). Unauthenticated callers learn
 * only that their credentials were not accepted, never which check failed.
 */
import { isPosternError, type ErrorCode } from '../core/errors.ts';

export function httpError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

export function errorToResponse(e: unknown): Response {
  if (!isPosternError(e)) {
    console.error(
      JSON.stringify({ msg: 'unhandled error', error: e instanceof Error ? e.message : String(e) }),
    );
    return httpError(500, 'internal', 'internal error');
  }
  const [status, code, message] = mapCode(e.code, e.message);
  if (status >= 500) console.error(JSON.stringify({ msg: 'request failed', code: e.code, error: e.message }));
  else if (status === 401)
    console.warn(JSON.stringify({ msg: 'authentication failed', code: e.code, error: e.message }));
  return httpError(status, code, message);
}

function mapCode(code: ErrorCode, message: string): [number, string, string] {
  switch (code) {
    case 'TOKEN_INVALID':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_UNTRUSTED_ISSUER':
      return [401, 'unauthorized', 'token rejected (expired, or issuer/audience not trusted)'];
    case 'FORBIDDEN':
      return [403, 'forbidden', message];
    case 'NOT_FOUND':
      return [404, 'not_found', message];
    case 'CONFLICT':
      return [409, 'conflict', message];
    case 'INVALID_INPUT':
    case 'PROTOCOL_VIOLATION':
    case 'MESSAGE_TOO_LARGE':
      return [400, 'invalid_input', message];
    case 'CONNECTOR_OFFLINE':
      return [503, 'connector_offline', message];
    case 'UPSTREAM_AUTH_FAILED':
    case 'UPSTREAM_UNREACHABLE':
    case 'UPSTREAM_UNSUPPORTED_AUTH':
      return [502, 'upstream_error', message];
    case 'CONFIG_INVALID':
    case 'CRYPTO_FAILED':
    case 'INTERNAL':
      return [500, 'internal', 'internal error'];
  }
}
