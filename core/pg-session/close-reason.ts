/**
 * Why a Postgres session ended, and what the client is told. Detail stays inside (logs,
 * audit); the client gets a generic, actionable ErrorResponse (style.md #4).
 */
import type { ErrorFields } from '../pg/types.ts';

export type CloseReason =
  | { kind: 'client-terminate' }
  | { kind: 'client-closed' }
  | { kind: 'cancel-request' }
  | { kind: 'upstream-closed' }
  | { kind: 'client-protocol'; detail: string }
  | { kind: 'upstream-protocol'; detail: string }
  | { kind: 'upstream-auth'; detail: string }
  | { kind: 'upstream-unsupported-auth'; detail: string }
  /** The client's startup packet asked for something Postern does not do; detail is for the client. */
  | { kind: 'startup-refused'; detail: string; code?: string; hint?: string }
  /**
   * The target refused a setting the client asked for at startup (an invalid value, a name it
   * does not know): its own words, for the client.
   */
  | { kind: 'target-refused-setting'; code: string; detail: string; hint?: string }
  | { kind: 'channel-failed'; detail: string }
  | { kind: 'channel-timeout' }
  | { kind: 'gateway-error'; detail: string }
  /** The access the session relied on ended (a grant expired or was revoked); detail is for the client. */
  | { kind: 'access-ended'; detail: string }
  /**
   * The target reported that it reads SQL differently from the gateway's check (client_encoding,
   * standard_conforming_strings); detail is for the client.
   */
  | { kind: 'reading-changed'; detail: string }
  /**
   * A message past what the gateway can hold to read (a masked row, a target error) in a stream
   * it cannot resynchronise; detail names the limit and what to do, for the client.
   */
  | { kind: 'too-large'; detail: string };

/** The ErrorResponse the client receives for a reason, or null when nothing should be sent. */
export function clientErrorFor(reason: CloseReason): ErrorFields | null {
  switch (reason.kind) {
    case 'client-terminate':
    case 'client-closed':
    case 'cancel-request':
    case 'upstream-closed':
      return null;
    case 'client-protocol':
      return { severity: 'FATAL', code: '08P01', message: `protocol violation: ${reason.detail}` };
    case 'upstream-protocol':
      return {
        severity: 'FATAL',
        code: '08P01',
        message: 'the target database sent a message Postern could not accept; the session was closed',
      };
    case 'upstream-auth':
      return {
        severity: 'FATAL',
        code: '28000',
        message:
          'Postern could not log in to the target database with the credentials configured for this connection',
        hint: 'An admin should check the connection credentials (PATCH /api/v1/connections/<name>).',
      };
    case 'upstream-unsupported-auth':
      return {
        severity: 'FATAL',
        code: '28000',
        message: 'the target database asks for an authentication method Postern does not support',
        hint: 'Configure the target for scram-sha-256, md5 or password authentication.',
      };
    case 'startup-refused':
      return {
        severity: 'FATAL',
        code: reason.code ?? '0A000',
        message: reason.detail,
        ...(reason.hint ? { hint: reason.hint } : {}),
      };
    case 'target-refused-setting':
      return {
        severity: 'FATAL',
        code: reason.code,
        message: reason.detail,
        ...(reason.hint ? { hint: reason.hint } : {}),
      };
    case 'channel-failed':
      return {
        severity: 'FATAL',
        code: '08001',
        message: `the connector could not reach the target: ${reason.detail}`,
      };
    case 'channel-timeout':
      return {
        severity: 'FATAL',
        code: '08001',
        message: 'the connector did not open a channel to the target in time',
        hint: 'Check that `postern connector` is running and can reach the edge.',
      };
    case 'access-ended':
      return { severity: 'FATAL', code: '42501', message: reason.detail };
    case 'reading-changed':
      return { severity: 'FATAL', code: '0A000', message: reason.detail };
    case 'too-large':
      return { severity: 'FATAL', code: '54000', message: reason.detail };
    case 'gateway-error':
      return { severity: 'FATAL', code: 'XX000', message: 'internal gateway error; the session was closed' };
  }
}
