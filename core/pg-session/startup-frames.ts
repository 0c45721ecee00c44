/**
 * What one target message means while the gateway logs in to the target (after authentication
 * has started, before the client is ready), as a decision: no I/O, the session acts on it.
 * Protocol §55.2.1: after AuthenticationOk come ParameterStatus, BackendKeyData, maybe
 * NoticeResponse/NegotiateProtocolVersion, then ReadyForQuery, or an ErrorResponse.
 */
import type { PgFrame } from '../pg/framer.ts';
import { parseBackendKeyData, parseErrorFields } from '../pg/messages.ts';
import type { CloseReason } from './close-reason.ts';
import { T_ERROR, T_KEY, T_NEGOTIATE, T_NOTICE, T_PARAM, T_READY } from './frames.ts';
import type { CancelKey } from './types.ts';

export type StartupStep =
  | { kind: 'param'; raw: Uint8Array }
  | { kind: 'key'; key: CancelKey }
  | { kind: 'ignore' }
  | { kind: 'ready'; status: number }
  | { kind: 'fail'; reason: CloseReason };

export function startupStep(frame: PgFrame, authenticated: boolean): StartupStep {
  switch (frame.type) {
    case T_PARAM:
      return { kind: 'param', raw: frame.raw.slice() };
    case T_KEY:
      return { kind: 'key', key: parseBackendKeyData(frame.body) };
    case T_NOTICE:
    case T_NEGOTIATE:
      return { kind: 'ignore' };
    case T_ERROR: {
      const fields = parseErrorFields(frame.body);
      const detail = `${fields['C'] ?? '?'} ${fields['M'] ?? ''}`.trim();
      // 28xxx = invalid authorization; anything else during startup (e.g. unknown database) is
      // still the connection's configuration, which the client cannot fix either.
      return {
        kind: 'fail',
        reason: { kind: authenticated ? 'upstream-protocol' : 'upstream-auth', detail },
      };
    }
    case T_READY:
      if (!authenticated) {
        return {
          kind: 'fail',
          reason: { kind: 'upstream-protocol', detail: 'ReadyForQuery before AuthenticationOk' },
        };
      }
      return { kind: 'ready', status: frame.body[0] ?? 0x49 };
    default:
      return {
        kind: 'fail',
        reason: {
          kind: 'upstream-protocol',
          detail: `unexpected message type 0x${frame.type.toString(16)} during startup`,
        },
      };
  }
}
