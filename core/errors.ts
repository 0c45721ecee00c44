/**
 * One error family for Postern. Every thrown error that crosses a module boundary is a
 * PosternError with a stable `code`; callers switch on the code, never on the message.
 * The message is for operators (logs, audit); what a client sees is mapped separately
 * (see edge/http-errors.ts and the Postgres ErrorResponse mapping in durable-objects).
 */
export type ErrorCode =
  // Input from a peer that violates its protocol (Postgres frames, tunnel messages).
  | 'PROTOCOL_VIOLATION'
  | 'MESSAGE_TOO_LARGE'
  // Authentication of callers, connectors and channels.
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_UNTRUSTED_ISSUER'
  | 'FORBIDDEN'
  // Upstream (target) failures.
  | 'UPSTREAM_AUTH_FAILED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_UNSUPPORTED_AUTH'
  // Control plane.
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_INPUT'
  | 'CONNECTOR_OFFLINE'
  | 'CONTROL_PLANE_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'CRYPTO_FAILED'
  | 'INTERNAL';

export class PosternError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail for logs/audit. Never secrets. */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'PosternError';
    this.code = code;
    this.detail = detail;
  }
}

export function isPosternError(e: unknown): e is PosternError {
  return e instanceof PosternError;
}
