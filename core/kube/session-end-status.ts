/**
 * The Status each request still open gets when its Kubernetes session ends: a pure mapping from
 * the end's reason to what kubectl shows (the reason's detail stays in the audit trail).
 */
import type { CloseReason } from '../session-host/close-reason.ts';
import { serviceUnavailable, unauthorized, type KubeStatus } from './status.ts';

/** 401 when access ended (kubectl asks for a new token), else 503 (kubectl may retry). */
export function sessionEndStatus(reason: CloseReason): KubeStatus {
  return reason.kind === 'access-ended'
    ? { ...unauthorized(), message: reason.forClient ?? 'the session ended: get a new token' }
    : reason.kind === 'channel-failed' || reason.kind === 'channel-timeout'
      ? serviceUnavailable(
          reason.forClient ??
            'Postern cannot reach the cluster of this connection (the connector did not open the channel)',
        )
      : serviceUnavailable(reason.forClient ?? `the Postern session ended (${reason.kind}); retry`);
}
