/**
 * Conformance: a session ends once, with a reason, however it ends (the client or target
 * closes, a timeout, access ending, the gateway failing; starting or open), and sends nothing
 * after the end, even from a login step that was still running.
 */
import type { ProtocolConnection, ProtocolSession } from '../protocol.ts';
import {
  check,
  harness,
  noViolations,
  opened,
  settle,
  type ConformanceCheck,
  type ConformanceDriver,
} from './harness.ts';

export function endsOnce<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    ...outsideEnds(d),
    {
      name: 'sends nothing after the end, even from a login step that was still running',
      run: async () => {
        const h = await harness(d);
        d.midLogin(h);
        h.session.clientClosed();
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        // Let the login step settle (microtasks, Web Crypto), then look.
        await new Promise((resolve) => setTimeout(resolve, 50));
        noViolations(h);
      },
    },
  ];
}

/** Every way the host ends a session from outside: once, with a kind, nothing sent after. */
function outsideEnds<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  const ways: Array<[string, (s: ProtocolSession) => void]> = [
    ['the client closes', (s) => s.clientClosed()],
    ['the target closes', (s) => s.targetClosed()],
    ['the channel times out', (s) => s.fail({ kind: 'channel-timeout' })],
    ['access ends', (s) => s.fail({ kind: 'access-ended', forClient: 'your grant expired' })],
    ['the gateway fails', (s) => s.fail({ kind: 'gateway-error', detail: 'conformance' })],
  ];
  return ways.flatMap(([how, end]) =>
    (['starting', 'open'] as const).map((phase) => ({
      name: `ends once with a reason when ${how} (${phase}), and sends nothing after`,
      run: async () => {
        const h = phase === 'open' ? await opened(d) : await harness(d);
        // A module may wait for the client's first message to answer in the form it expects.
        if (phase === 'starting') h.fromClient(d.clientHello);
        end(h.session);
        await settle(d, h);
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        check(h.session.phase === 'closed', `phase is ${h.session.phase} after the end`);
        end(h.session);
        h.session.clientClosed();
        h.fromClient(d.request);
        h.fromTarget(d.request);
        h.session.notice({ message: 'after the end' });
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        noViolations(h);
      },
    })),
  );
}
