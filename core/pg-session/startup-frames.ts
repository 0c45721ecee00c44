/**
 * What one target message means while the gateway logs in to the target (after authentication
 * has started, before the client is ready), as a decision: no I/O, the session acts on it.
 * Protocol §55.2.1: after AuthenticationOk come ParameterStatus, BackendKeyData, maybe
 * NoticeResponse/NegotiateProtocolVersion, then ReadyForQuery, or an ErrorResponse.
 */
import type { PgFrame } from '../pg/framer.ts';
import { parseBackendKeyData, parseErrorFields } from '../pg/messages.ts';
import type { CloseReason } from './close-reason.ts';
import { Backend, TxStatus, typeName } from '../pg/message-types.ts';
import type { CancelKey } from '../pg/types.ts';

export type StartupStep =
  | { kind: 'param'; raw: Uint8Array }
  | { kind: 'key'; key: CancelKey }
  | { kind: 'ignore' }
  | { kind: 'ready'; status: number }
  | { kind: 'fail'; reason: CloseReason };

/**
 * What the server answers a setting it cannot take (src/backend/utils/misc/guc.c,
 * set_config_with_handle): 22023 an invalid value, 42704 an unknown name, 55P02 one that cannot be
 * set now. After login, with settings of the client forwarded, these are about the client's own
 * settings: the client gets the server's words rather than a generic error.
 */
const SETTING_ERRORS = new Set(['22023', '42704', '55P02']);
/** How much of the server's message and hint is relayed. */
const MAX_RELAYED = 1000;

/** `clientSettings`: the gateway forwarded settings the client asked for. */
export function startupStep(frame: PgFrame, authenticated: boolean, clientSettings = false): StartupStep {
  switch (frame.type) {
    case Backend.ParameterStatus:
      return { kind: 'param', raw: frame.raw.slice() };
    case Backend.BackendKeyData:
      return { kind: 'key', key: parseBackendKeyData(frame.body) };
    case Backend.NoticeResponse:
    case Backend.NegotiateProtocolVersion:
      return { kind: 'ignore' };
    case Backend.ErrorResponse: {
      const fields = parseErrorFields(frame.body);
      const detail = `${fields['C'] ?? '?'} ${fields['M'] ?? ''}`.trim();
      const code = fields['C'] ?? '';
      if (authenticated && clientSettings && SETTING_ERRORS.has(code)) {
        const hint = fields['H'];
        return {
          kind: 'fail',
          reason: {
            kind: 'target-refused-setting',
            code,
            detail: `the target database refused a startup setting: ${(fields['M'] ?? '').slice(0, MAX_RELAYED)}`,
            ...(hint ? { hint: hint.slice(0, MAX_RELAYED) } : {}),
          },
        };
      }
      // 28xxx = invalid authorization; anything else during startup (e.g. unknown database) is
      // still the connection's configuration, which the client cannot fix either.
      return {
        kind: 'fail',
        reason: { kind: authenticated ? 'upstream-protocol' : 'upstream-auth', detail },
      };
    }
    case Backend.ReadyForQuery:
      if (!authenticated) {
        return {
          kind: 'fail',
          reason: { kind: 'upstream-protocol', detail: 'ReadyForQuery before AuthenticationOk' },
        };
      }
      return { kind: 'ready', status: frame.body[0] ?? TxStatus.Idle };
    default:
      return {
        kind: 'fail',
        reason: {
          kind: 'upstream-protocol',
          detail: `unexpected message type ${typeName(frame.type)} during startup`,
        },
      };
  }
}
