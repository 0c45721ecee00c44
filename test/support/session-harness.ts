/**
 * A PgSession for unit tests, with every byte it sends to the client and to the target kept,
 * the reasons it ended, and the cancel requests it made.
 */
import type { CloseReason } from '../../core/pg-session/close-reason.ts';
import { PgSession } from '../../core/pg-session/session.ts';
import type { CancelKey } from '../../core/pg/types.ts';
import type { PgSessionConfig } from '../../core/pg-session/types.ts';
import { framesOf } from './pg-bytes.ts';

export function sessionHarness(config: Partial<PgSessionConfig> = {}) {
  const toClient: Uint8Array[] = [];
  const toUpstream: Uint8Array[] = [];
  const ended: CloseReason[] = [];
  const cancels: CancelKey[] = [];
  const session = new PgSession(
    {
      upstreamUser: 'app',
      upstreamDatabase: 'appdb',
      gatewayKey: { processId: 1, secretKey: 2 },
      maxMessageBytes: 1 << 20,
      ...config,
    },
    {
      toClient: (b) => toClient.push(b.slice()),
      toUpstream: (b) => toUpstream.push(b.slice()),
      end: (r) => ended.push(r),
      cancelRequested: (k) => cancels.push(k),
    },
  );
  /** What the client was sent, as whole messages. */
  const clientFrames = () => framesOf(...toClient);
  return { session, toClient, toUpstream, ended, cancels, clientFrames };
}
