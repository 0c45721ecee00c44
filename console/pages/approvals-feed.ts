/**
 * The live approvals state (`GET /api/v1/approvals/stream`, Server-Sent Events with the session
 * cookie): `onState` gets `{ inbox, mine }` on every change. EventSource reconnects by itself when
 * the server ends a stream (every few minutes, to authenticate again); when it gives up (signed
 * out), `onLost` is told. Closed when the page's signal aborts.
 */
import type { ApprovalItem } from './approval-card.ts';

export interface FeedState {
  inbox: ApprovalItem[];
  mine: ApprovalItem[];
}

export function followApprovals(
  signal: AbortSignal,
  onState: (s: FeedState) => void,
  onLost: (reconnecting: boolean) => void,
): void {
  const es = new EventSource('/api/v1/approvals/stream', { withCredentials: true });
  es.addEventListener('approvals', (e) => onState(JSON.parse((e as MessageEvent<string>).data) as FeedState));
  es.addEventListener('error', () => onLost(es.readyState !== EventSource.CLOSED));
  signal.addEventListener('abort', () => es.close(), { once: true });
}
