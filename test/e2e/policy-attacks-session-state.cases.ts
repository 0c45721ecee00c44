/**
 * Attacks on the gateway's model of the server's session state (the review of the issue 9
 * work, policy-attacks.test.ts): prepared statement names past NAMEDATALEN, Sync during COPY
 * FROM STDIN, and a SQL cursor that outlives the access grant it was opened under. Each failed
 * before its fix. Run by policy-attacks.test.ts on its stack and connections.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchToken, type Proc, type TestStack } from './harness.ts';
import { m, WireClient } from '../support/pg-wire.ts';
import { findLeak } from '../support/leak-check.ts';

/** What policy-attacks.test.ts set up: its stack, connections and helpers. */
export interface AttackWorld {
  stack: TestStack;
  /** `postern connect` to "granted": reading needs an access grant for sql:select. */
  granted: Proc & { port: number };
  /** The demo's masked values, none of which may reach a client. */
  secrets: string[];
  /** A wire client on `port` (the demo connection's by default), closed after the file. */
  open(port?: number): Promise<WireClient>;
  refillCanary(): Promise<unknown>;
  canaryCount(): Promise<number>;
  /** Waits for the NOTICE of a held statement and approves it (scope once). */
  approveHeld(c: WireClient): Promise<void>;
  api(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

export function sessionStateAttackCases(on: () => AttackWorld): void {
  let w: AttackWorld;
  beforeAll(() => {
    w = on();
  });

  describe('attack: prepared statement names past NAMEDATALEN', () => {
    // The server keys prepared statements (and portals) by the first 63 bytes of the name
    // (NAMEDATALEN - 1, a HASH_STRINGS table); the gateway compares every byte.
    const A = 'a'.repeat(63);

    it('an approved-once TRUNCATE runs again and again under a longer name', async () => {
      await w.refillCanary();
      const c = await w.open();
      // The server's statement "aaa…a" (63 bytes) is SELECT; the gateway knows it as "aaa…a2".
      expect((await c.run([m.parse(A + '2', 'SELECT 1 WHERE false'), m.sync()])).errors).toEqual([]);
      // "aaa…a1" is unknown to the gateway; the server closes "aaa…a" (the same 63 bytes).
      expect((await c.run([m.close('S', A + '1'), m.sync()])).errors).toEqual([]);
      // The approved TRUNCATE is stored by the server as "aaa…a" again.
      c.send(m.parse(A + '1', 'TRUNCATE canary'), m.sync());
      await w.approveHeld(c);
      expect((await c.until()).errors).toEqual([]);
      expect(await w.canaryCount()).toBe(3); // approved, not yet run
      let runs = 0;
      for (let i = 0; i < 3; i++) {
        await w.refillCanary();
        const r = await c.run([m.bind('', A + '2'), m.execute(), m.sync()]);
        if (r.errors.length === 0 && (await w.canaryCount()) === 0) runs++;
      }
      // To the server "aaa…a1" and "aaa…a2" are one name (63 bytes): the Bind runs the approved
      // TRUNCATE, once, as approved; the gateway keys names the same way, so later Binds are refused.
      expect(runs).toBe(1);
    });
  });

  describe('attack: the server ignores Sync during COPY FROM STDIN; the gateway does not', () => {
    /**
     * Extended-protocol COPY FROM STDIN: the server ignores Flush/Sync while it reads COPY data
     * (copyfromparse.c CopyGetData), so the Sync of the COPY's batch is never answered by itself;
     * the gateway expects an answer for it. After CopyDone and one more Sync, the gateway waits
     * for one ReadyForQuery more than the server will send: every later answer is matched to the
     * batch before it, as long as answers keep the same shape.
     */
    async function desync(c: WireClient): Promise<void> {
      c.send(m.parse('', 'COPY canary (id) FROM STDIN'), m.bind('', ''), m.execute(), m.sync());
      for (let i = 0; i < 10; i++) if ((await c.next()).type === 'G') break;
      const r = await c.run([m.copyDone(), m.sync()]);
      expect(r.errors).toEqual([]);
    }

    it('rows of a query are masked with the plan of the query before it', async () => {
      const c = await w.open();
      await desync(c);
      // Answered by the server as [E, Z]: the gateway takes them for the stale Sync.
      await c.run([m.query('SELECT 1/0')]);
      // Its rows are masked with the plan of `SELECT 1/0` (nothing masked).
      const r = await c.run([
        m.query(
          'SELECT reverse(email), reverse(national_id), reverse(card_number), reverse(phone), upper(email) FROM customers',
        ),
      ]);
      expect(findLeak(r.text, w.secrets)).toBeUndefined();
    });

    it('an approved-once TRUNCATE runs again on every Bind of a name checked as a SELECT', async () => {
      await w.refillCanary();
      const c = await w.open();
      await desync(c);
      const bad = 'SELECT no_such_column_xyz'; // fails at Parse on the server
      // Server: E Z (batch skipped). Gateway: those close the stale Sync; this batch stays open.
      await c.run([m.parse('', bad), m.parse('x', 'SELECT 1 WHERE false'), m.sync()]);
      // Server: 1 1 Z for this batch; the gateway reads them as the batch before: "x" = SELECT.
      c.send(m.parse('', 'SELECT 2'), m.parse('x', 'TRUNCATE canary'), m.sync());
      await w.approveHeld(c);
      await c.until();
      // Server: E Z. Gateway: the TRUNCATE's Parse "never happened"; "x" stays the SELECT.
      await c.run([m.parse('', bad), m.sync()]);
      // Server: E Z; gateway now waits for a Parse, Bind, (Describe), Execute, Sync batch.
      await c.run([m.parse('', bad), m.bind('', ''), m.execute(), m.sync()]);
      expect(await w.canaryCount()).toBe(3);
      let runs = 0;
      for (let i = 0; i < 3; i++) {
        await w.refillCanary();
        const r = await c.run([m.parse('', 'SELECT 4'), m.bind('', 'x'), m.execute(), m.sync()]);
        if (r.errors.length === 0 && (await w.canaryCount()) === 0) runs++;
      }
      // The gateway kept pace with the server through the COPY: "x" is the approved TRUNCATE, which
      // runs once, as approved, and no more.
      expect(runs).toBe(1);
    });
  });

  describe('attack: prepared statement names past NAMEDATALEN, against masking', () => {
    const B = 'b'.repeat(63);

    it('rows of a PII statement are masked with the plan of a SELECT of constants', async () => {
      const c = await w.open();
      await c.run([m.parse(B + '1', `SELECT 'a' AS a, 'b' AS b, 'c' AS c`), m.sync()]);
      await c.run([m.close('S', B + '9'), m.sync()]); // the server closes "bbb…b"
      await c.run([
        m.parse(
          B + '2',
          'SELECT reverse(email) AS a, reverse(national_id) AS b, reverse(phone) AS c FROM customers',
        ),
        m.sync(),
      ]);
      // Bind "bbb…b1": the server binds the PII statement; the gateway masks with the constants' plan.
      const r = await c.run([m.bind('', B + '1'), m.execute(), m.sync()]);
      expect(findLeak(r.text, w.secrets)).toBeUndefined();
    });
  });

  describe('attack: a SQL cursor outlives the access grant it was opened under', () => {
    it('FETCH keeps reading a WITH HOLD cursor after the sql:select grant was revoked', async () => {
      await w.refillCanary();
      const requester = await fetchToken(w.stack);
      const admin = await fetchToken(w.stack, w.stack.adminClientId, w.stack.adminClientSecret);
      const req = await w.api(requester, 'POST', '/access-requests', {
        connection: 'granted',
        duration: '10m',
        reason: 'attack test',
        action: 'sql:select',
      });
      expect(req.status).toBe(201);
      const ok = await w.api(admin, 'POST', `/approvals/${String(req.body['id'])}/approve`, {});
      expect(ok.status).toBe(200);
      const c = await w.open(w.granted.port);
      const declared = await c.run(
        [
          m.query('DECLARE cur CURSOR WITH HOLD FOR SELECT id FROM canary ORDER BY id'),
          m.query('FETCH 1 FROM cur'),
        ],
        2,
      );
      expect(declared.errors).toEqual([]);
      expect(declared.rows).toEqual([['1']]);
      await w.api(admin, 'POST', `/access-grants/${String(ok.body['grantId'])}/revoke`, { reason: 'over' });
      // The session has taken the revocation in once reading is refused again.
      let refused = false;
      for (let i = 0; i < 100 && !refused; i++) {
        const r = await c.run([m.query('SELECT id FROM canary')]);
        refused = r.errors.some((e) => e.code === '42501');
        if (!refused) await new Promise((r) => setTimeout(r, 200));
      }
      expect(refused).toBe(true);
      // The gateway's rule: a portal opened under a grant that ended does not run again.
      const execute = await c.run([m.execute('cur'), m.sync()]);
      expect(execute.errors.map((e) => e.code)).toEqual(['42501']);
      const fetched = await c.run([m.query('FETCH ALL FROM cur')]);
      expect(fetched.rows).toEqual([]);
    });
  });
}
