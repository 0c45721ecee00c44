/**
 * Conformance: a module that loses track of its protocol (garbage from the client or the
 * target mid-stream) ends the session with a failure and forwards nothing more.
 */
import type { ProtocolConnection } from '../protocol.ts';
import { isFailure } from '../close-reason.ts';
import {
  check,
  concat,
  noViolations,
  opened,
  reached,
  settle,
  type ConformanceCheck,
  type ConformanceDriver,
} from './harness.ts';

export function failsClosed<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'fails closed on client garbage mid-stream: ends with a failure, forwards nothing more',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(concat(d.clientGarbage, d.request));
        await settle(d, h);
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          'garbage from the client did not end the session',
        );
        check(reached(d, h) === sent, 'bytes reached the target after the client lost track');
        h.fromClient(d.request);
        h.fromTarget(d.request);
        await settle(d, h);
        noViolations(h);
      },
    },
    {
      name: 'fails closed on target garbage mid-stream: ends with a failure, sends nothing after',
      run: async () => {
        const h = await opened(d);
        h.fromTarget(d.targetGarbage);
        await settle(d, h);
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          `garbage from the target did not end the session with a failure: ${JSON.stringify(h.ended)}`,
        );
        h.fromClient(d.request);
        h.fromTarget(d.targetGarbage);
        await settle(d, h);
        noViolations(h);
      },
    },
  ];
}
