/**
 * The conformance suite every protocol module passes (issue 11 §2, style.md #16): it fails
 * closed when it loses track of its protocol, audits before it forwards, bounds what it holds,
 * ends once with a reason and sends nothing after, and never throws on hostile bytes. The suite
 * knows no protocol: a driver says how to reach the open phase, what a decided request, a held
 * one and garbage look like. Framework-free: each check throws a ConformanceError; a test file
 * runs the checks (core/pg-session/postgres-module.test.ts, core/ssh/ssh-module.test.ts).
 */
import type { ProtocolConnection } from './protocol.ts';
import { auditFirst } from './conformance/audit-first.ts';
import { boundedHolds } from './conformance/bounded-holds.ts';
import { endsOnce } from './conformance/ends-once.ts';
import { failsClosed } from './conformance/fails-closed.ts';
import type { ConformanceCheck, ConformanceDriver } from './conformance/harness.ts';
import { heldRequests } from './conformance/held-requests.ts';
import { hostileBytes } from './conformance/hostile-bytes.ts';

export {
  ConformanceError,
  harness,
  type ConformanceCheck,
  type ConformanceDriver,
  type Harness,
} from './conformance/harness.ts';

/** Every check of the suite, one guarantee per file (conformance/), in a fixed order. */
export function conformanceChecks<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    ...failsClosed(d),
    ...auditFirst(d),
    ...heldRequests(d),
    ...boundedHolds(d),
    ...endsOnce(d),
    ...hostileBytes(d),
  ];
}
