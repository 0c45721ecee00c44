/**
 * Conformance: a decided request is audited before a byte of it is forwarded, and a request
 * the audit log could not record is not forwarded at all.
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

export function auditFirst<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'audits a decided request before a byte of it is forwarded',
      run: async () => {
        const h = await opened(d);
        const mark = h.log.length;
        h.fromClient(d.request);
        await settle(d, h);
        const rest = h.log.slice(mark);
        const forwardAt = rest.indexOf('toTarget');
        check(forwardAt >= 0, 'the permitted request was not forwarded (the check would prove nothing)');
        check(
          rest.slice(0, forwardAt).some((e) => e.startsWith('audit:')),
          `forwarded before any audit event: ${rest.join(', ')}`,
        );
        noViolations(h);
      },
    },
    {
      name: 'forwards nothing of a request the audit log could not record',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.failAudit();
        h.fromClient(d.request);
        await settle(d, h);
        check(reached(d, h) === sent, 'a request reached the target without its audit event');
        noViolations(h);
      },
    },
  ];
}
