/**
 * Conformance: what a module holds of the client's bytes while the target is silent is bounded
 * (before the target is open, behind a held request, while open): past the bound it forwards or ends.
 */
import type { ProtocolConnection } from '../protocol.ts';
import {
  check,
  feedInChunks,
  harness,
  noViolations,
  opened,
  settle,
  type ConformanceCheck,
  type ConformanceDriver,
} from './harness.ts';

export function boundedHolds<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'bounds what it holds before the target is open',
      run: async () => {
        const h = await harness(d);
        h.fromClient(d.clientHello);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound);
        await settle(d, h);
        check(
          h.ended.length === 1,
          'more than the bound was sent and the session neither forwarded nor ended',
        );
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds behind a held request while the target is silent',
      run: async () => {
        const h = await opened(d);
        h.fromClient(d.heldRequest);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound + d.heldRequest.length);
        await settle(d, h);
        check(
          h.ended.length === 1,
          'more than the bound was sent and the session neither forwarded nor ended',
        );
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds while open and the target is silent',
      run: async () => {
        const h = await opened(d);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound);
        noViolations(h);
      },
    },
  ];
}
