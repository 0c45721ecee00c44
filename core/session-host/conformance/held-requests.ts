/**
 * Conformance: a request held for approval reaches the target only once approved, and once;
 * a refused one never.
 */
import type { ProtocolConnection } from '../protocol.ts';
import {
  check,
  noViolations,
  opened,
  reached,
  settle,
  type ConformanceCheck,
  type ConformanceDriver,
} from './harness.ts';

export function heldRequests<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'forwards a held request only once approved, and once',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(d.heldRequest);
        await settle(d, h);
        check(h.held.length === 1, 'the request was not held');
        check(reached(d, h) === sent, 'a held request reached the target before approval');
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) > sent, 'the approved request was not forwarded');
        const afterApproval = reached(d, h);
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) === afterApproval, 'a second approval forwarded it again');
        noViolations(h);
      },
    },
    {
      name: 'never forwards a held request that was refused',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(d.heldRequest);
        await settle(d, h);
        h.session.resolveHeld(false, 'refused by the conformance suite');
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) === sent, 'a refused request reached the target');
        noViolations(h);
      },
    },
  ];
}
