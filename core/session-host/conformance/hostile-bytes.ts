/**
 * Conformance: hostile bytes from either side, however chunked, never make a module throw,
 * and the session ends at most once.
 */
import fc from 'fast-check';
import type { ProtocolConnection } from '../protocol.ts';
import {
  check,
  harness,
  noViolations,
  opened,
  settle,
  type ConformanceCheck,
  type ConformanceDriver,
} from './harness.ts';

export function hostileBytes<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'never throws on hostile bytes, whatever the chunking, and ends at most once',
      run: async () => {
        const chunks = fc.array(
          fc.record({
            target: fc.boolean(),
            bytes: fc.oneof(
              fc.uint8Array({ maxLength: 64 }),
              fc.constant(d.request),
              fc.constant(d.clientGarbage),
              fc.constant(d.targetGarbage),
            ),
            split: fc.nat({ max: 64 }),
          }),
          { maxLength: 12 },
        );
        await fc.assert(
          fc.asyncProperty(fc.boolean(), chunks, async (open, ops) => {
            const h = open ? await opened(d) : await harness(d);
            if (!open) h.fromClient(d.clientHello);
            for (const op of ops) {
              const feed = op.target ? h.fromTarget : h.fromClient;
              const cut = Math.min(op.split, op.bytes.length);
              feed(op.bytes.subarray(0, cut));
              feed(op.bytes.subarray(cut));
            }
            h.session.clientClosed();
            await settle(d, h);
            check(h.ended.length === 1, `ended ${h.ended.length} times`);
            noViolations(h);
          }),
          { numRuns: d.propertyRuns ?? 50 },
        );
      },
    },
  ];
}
