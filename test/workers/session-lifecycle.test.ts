/**
 * The SessionDO through its public surface only (RPC, its two sockets, alarms fired on demand),
 * with a real ConnectorDO and a fake connector playing the target (session-world.ts): what the
 * client is told, what reaches the target, and what the control plane (a real database) ends
 * up with. Nothing here reads the session's internals, so these tests hold whatever protocol
 * module runs inside it.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { settleLogs } from './settle-logs.ts';
import { closedChain, connectorReplica, openSession, SETTLE, sessionRow } from './session-world.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});
afterAll(() => settleLogs(), 15_000);

describe('a session', () => {
  it('forwards what policy allows, and ends with its chain and record in the control plane', async () => {
    const r = await connectorReplica('con_life');
    try {
      const s = await openSession(r, 'con_life');
      await s.client.query('SELECT 42');
      expect(s.target.queries).toEqual(['SELECT 42']);
      s.client.ws.close(1000, 'bye');
      const chain = await closedChain(s.sessionId);
      expect(chain.map((e) => e.kind)).toEqual(['session_open', 'statement', 'session_close']);
      await vi.waitFor(async () => expect((await sessionRow(s.sessionId))?.audit_events).toBe(3), SETTLE);
    } finally {
      r.close();
    }
  });
});
