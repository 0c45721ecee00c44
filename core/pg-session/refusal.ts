/**
 * What a client gets when the gateway refuses a statement itself: ErrorResponse 42501
 * (insufficient_privilege, Appendix A) and, where the refusal ends a cycle, ReadyForQuery with
 * the target's last transaction status, exactly as a server that refused it would answer.
 */
import { errorResponse, readyForQuery } from '../pg/messages.ts';
import { refusalFields } from '../policy/refusal-text.ts';

export const INSUFFICIENT_PRIVILEGE = '42501';

/** `message` may carry DETAIL and HINT lines (core/policy/refusal-text.ts): sent as fields D and H. */
export function refusalError(message: string): Uint8Array {
  return errorResponse({ severity: 'ERROR', code: INSUFFICIENT_PRIVILEGE, ...refusalFields(message) });
}

export function refusalAnswer(message: string, status: 'I' | 'T' | 'E'): Uint8Array {
  const a = refusalError(message);
  const b = readyForQuery(status);
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
