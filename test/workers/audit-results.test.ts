/**
 * Statement results in the session's audit log, inside workerd on a SessionDO's own storage:
 * carried on the next event written anyway (no storage write of their own), written by the
 * alarm when nothing carried them, at once when many wait, and chained like every event.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { verifyChain, type AuditEvent } from '../../core/audit/chain.ts';
import { MAX_CARRIED } from '../../core/audit/carried-results.ts';
import { AuditLog } from '../../durable-objects/session/audit-log.ts';

/** The events waiting in the DO's outbox, in order. */
function stored(state: DurableObjectState): AuditEvent[] {
  return state.storage.sql
    .exec<{ item: string }>("SELECT item FROM outbox WHERE queue = 'audit' ORDER BY rowid")
    .toArray()
    .map((r) => JSON.parse(r.item) as AuditEvent);
}

async function inSession(test: (audit: AuditLog, state: DurableObjectState) => void): Promise<void> {
  const id = env.SESSION.newUniqueId();
  await runInDurableObject(env.SESSION.get(id), async (_i, state) => {
    const audit = new AuditLog(state, env);
    audit.begin({ session: id.toString(), connectionName: 'workers', subject: 'alice' });
    test(audit, state);
  });
}

describe('statement results in the audit log', () => {
  it('are carried on the next event written anyway, and write nothing of their own', () =>
    inSession((audit, state) => {
      const first = audit.append('statement', { sql: 'SELECT 1' }, 'allow');
      audit.carry({ of: first.seq, ms: 2, command: 'SELECT', rows: 1 });
      expect(stored(state)).toHaveLength(1); // no write for the result
      audit.append('statement', { sql: 'SELECT 2' }, 'allow');
      const events = stored(state);
      expect(events[1]!.data).toEqual({
        sql: 'SELECT 2',
        results: [{ of: 1, ms: 2, command: 'SELECT', rows: 1 }],
      });
      audit.append('statement', { sql: 'SELECT 3' }, 'allow');
      expect(stored(state)[2]!.data).toEqual({ sql: 'SELECT 3' }); // carried once only
      expect(verifyChain(stored(state)).ok).toBe(true);
    }));

  it('are written by the alarm in a results event when nothing carried them', () =>
    inSession((audit, state) => {
      audit.append('statement', { sql: 'SELECT 1' }, 'allow');
      audit.writeCarried();
      expect(stored(state)).toHaveLength(1); // nothing waiting, nothing written
      audit.carry({ of: 1, ms: 0, sqlstate: '42P01' });
      audit.writeCarried();
      const events = stored(state);
      expect(events.map((e) => e.kind)).toEqual(['statement', 'results']);
      expect(events[1]!.data).toEqual({ results: [{ of: 1, ms: 0, sqlstate: '42P01' }] });
      expect(audit.count).toBe(2);
      expect(verifyChain(events).ok).toBe(true);
    }));

  it(`are written at once when ${MAX_CARRIED} wait (bounded), and stay in the chain`, () =>
    inSession((audit, state) => {
      audit.append('statement', { sql: 'SELECT 1' }, 'allow');
      for (let i = 0; i < MAX_CARRIED - 1; i++) audit.carry({ of: 1, ms: i });
      expect(stored(state)).toHaveLength(1);
      audit.carry({ of: 1, ms: 99 });
      const events = stored(state);
      expect(events).toHaveLength(2);
      expect((events[1]!.data['results'] as unknown[]).length).toBe(MAX_CARRIED);
      expect(verifyChain(events).ok).toBe(true);
    }));

  it('are kept when the event that would carry them is refused by storage', () =>
    inSession((audit, state) => {
      audit.append('statement', { sql: 'SELECT 1' }, 'allow');
      audit.carry({ of: 1, ms: 1 });
      const exec = state.storage.sql.exec.bind(state.storage.sql);
      state.storage.sql.exec = (() => {
        throw new Error('storage refused (injected)');
      }) as typeof exec;
      expect(() => audit.append('statement', { sql: 'SELECT 2' }, 'allow')).toThrow(/refused/);
      state.storage.sql.exec = exec;
      audit.append('statement', { sql: 'SELECT 3' }, 'allow');
      expect(stored(state)[1]!.data['results']).toEqual([{ of: 1, ms: 1 }]);
    }));
});
