import { beforeAll, describe, expect, it } from 'vitest';
import { withControlPlane } from '../../edge/db/client.ts';
import { mergeRecords, upsertSessionRecords, type SessionRecord } from '../../edge/db/session-records.ts';
import { useApiHarness, type ApiResult } from './api-harness.ts';
import pg from 'pg';
import { applyMigrations } from './control-plane-db.ts';

const h = useApiHarness({ reset: false });
const hexId = (n: number) => n.toString(16).padStart(64, '0');
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const minutes = (m: number) => new Date(T0 + m * 60_000).toISOString();

function record(n: number, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: hexId(n),
    connectionId: 'cn_orders',
    connectionName: 'orders-db',
    connectorId: 'con_1',
    protocol: 'postgres',
    replicaId: 'r1',
    issuer: 'https://issuer.test',
    subject: 'alice',
    groups: ['dba'],
    clientApplication: 'psql',
    startedAt: minutes(n),
    endedAt: minutes(n + 0.5),
    closeReason: 'client_terminate',
    bytesFromClient: 100 * n,
    bytesToClient: 1000 * n,
    statements: n,
    ...over,
  };
}

// 30 sessions: 1..20 alice on orders-db; 21..25 bob on orders-db; 26..30 alice on billing (SSH).
// 31..34 start in the same millisecond, to check paging across ties.
beforeAll(async () => {
  const records = [
    ...Array.from({ length: 20 }, (_, i) => record(i + 1)),
    ...Array.from({ length: 5 }, (_, i) => record(i + 21, { subject: 'bob' })),
    ...Array.from({ length: 5 }, (_, i) =>
      record(i + 26, { connectionName: 'billing', connectionId: 'cn_b', protocol: 'ssh' }),
    ),
    ...Array.from({ length: 4 }, (_, i) => record(i + 31, { startedAt: minutes(100), subject: 'tie' })),
  ];
  await withControlPlane(h.env, (db) => upsertSessionRecords(db, records));
});

type Page = {
  sessions: Array<{ id: string; subject: string; connection: string; startedAt: string }>;
  nextCursor: string | null;
};

async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res: ApiResult<Page> = await h.call<Page>('GET', `/sessions?${q}`);
    expect(res.status).toBe(200);
    expect(res.body.sessions.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.sessions.map((s) => s.id));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { ids, pages };
}

describe('session listing', () => {
  it('lists newest first with all fields', async () => {
    const res = await h.call('GET', '/sessions?limit=1');
    expect(res.body.sessions).toEqual([
      {
        id: hexId(34),
        connection: 'orders-db',
        connectionId: 'cn_orders',
        connectorId: 'con_1',
        protocol: 'postgres',
        replicaId: 'r1',
        issuer: 'https://issuer.test',
        subject: 'tie',
        groups: ['dba'],
        clientApplication: 'psql',
        startedAt: minutes(100),
        state: 'ended',
        endedAt: minutes(34.5),
        closeReason: 'client_terminate',
        leaseUntil: null,
        refusals: 0,
        bytesFromClient: 3400,
        bytesToClient: 34000,
        statements: 34,
        audit: { head: null, events: null },
      },
    ]);
    expect(res.body.nextCursor).toEqual(expect.any(String));
  });

  it('filters by connection name', async () => {
    const { ids } = await allPages('connection=billing', 100);
    expect(ids).toEqual([30, 29, 28, 27, 26].map(hexId));
  });

  it('filters by subject', async () => {
    const { ids } = await allPages('subject=bob', 100);
    expect(ids).toEqual([25, 24, 23, 22, 21].map(hexId));
  });

  it('filters by a closed time range', async () => {
    const { ids } = await allPages(`from=${minutes(5)}&to=${minutes(8)}`, 100);
    expect(ids).toEqual([8, 7, 6, 5].map(hexId));
  });

  it('combines filters', async () => {
    const { ids } = await allPages(`connection=orders-db&subject=alice&from=${minutes(18)}`, 100);
    expect(ids).toEqual([20, 19, 18].map(hexId));
  });

  it('pages through everything exactly once, across rows that started in the same millisecond', async () => {
    const { ids, pages } = await allPages('', 3);
    expect(ids).toHaveLength(34);
    expect(new Set(ids).size).toBe(34);
    expect(pages).toBe(12);
    expect(ids.slice(0, 4).sort()).toEqual([31, 32, 33, 34].map(hexId));
  });

  it('ends with a null cursor when the last page is exactly full', async () => {
    const res = await h.call('GET', '/sessions?subject=bob&limit=5');
    expect(res.body.sessions).toHaveLength(5);
    expect(res.body.nextCursor).toBeNull();
  });

  it('refuses bad filters, naming the parameter', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['from=yesterday', 'from'],
      ['connection=Not_A_Name', 'connection'],
      ['cursor=%21%21', 'cursor'],
      ['cursor=bm90IGEgY3Vyc29y', 'cursor'], // base64url of "not a cursor"
    ]) {
      const res = await h.call('GET', `/sessions?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error, q).toMatchObject({ code: 'invalid_input', field });
    }
  });

  it('gets one session by id, 404 for an unknown id, 400 for a malformed one', async () => {
    const one = await h.call('GET', `/sessions/${hexId(7)}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: hexId(7), subject: 'alice', statements: 7 });
    const missing = await h.call('GET', `/sessions/${hexId(999)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const bad = await h.call('GET', '/sessions/xyz');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('id');
  });
});

describe('the protocol of a session', () => {
  it('is the one the session recorded, in the list and for one session', async () => {
    const billing = await h.call('GET', '/sessions?connection=billing');
    expect(billing.body.sessions.map((s: { protocol: string }) => s.protocol)).toEqual(Array(5).fill('ssh'));
    const orders = await h.call('GET', '/sessions?connection=orders-db&limit=500');
    expect(new Set(orders.body.sessions.map((s: { protocol: string }) => s.protocol))).toEqual(
      new Set(['postgres']),
    );
    expect((await h.call('GET', `/sessions/${hexId(27)}`)).body).toMatchObject({ protocol: 'ssh' });
    const doc = (await h.call('GET', '/openapi.json', undefined, null)).body;
    expect(doc.components.schemas.Session.properties.protocol.enum).toEqual([
      'postgres',
      'ssh',
      'kubernetes',
    ]);
    expect(doc.components.schemas.Session.required).toContain('protocol');
  });

  it('the database refuses a protocol no module serves', async () => {
    await expect(
      h.cp.sql(`UPDATE sessions SET protocol = 'telnet' WHERE id = $1`, [hexId(1)]),
    ).rejects.toThrow(/sessions_protocol/);
  });

  it('migration 0009: rows from before it are postgres, or ssh when their connection is an SSH one', async () => {
    const db = `migrate_0009_${Date.now()}`;
    await h.cp.cluster.query(`CREATE DATABASE ${db}`);
    const client = new pg.Client({ connectionString: h.cp.cluster.dsn(db) });
    await client.connect();
    try {
      await applyMigrations(client, (f) => f < '0009');
      await client.query(`INSERT INTO connectors (id, name, token_hash) VALUES ('con_m', 'm', 'h')`);
      await client.query(`INSERT INTO connections (id, name, connector_id, protocol, target_host, target_port,
          credential_kind, credential_secret_kind) VALUES
        ('cn_ssh', 'jump', 'con_m', 'ssh', 'h', 22, 'encrypted', 'private_key'),
        ('cn_pg', 'orders', 'con_m', 'postgres', 'h', 5432, 'encrypted', 'password')`);
      const old = (id: string, conn: string) =>
        client.query(
          `INSERT INTO sessions (id, connection_id, connection_name, connector_id, issuer, subject, started_at)
           VALUES ($1, $2, 'x', 'con_m', 'iss', 'alice', now())`,
          [id, conn],
        );
      await old('s_ssh', 'cn_ssh');
      await old('s_pg', 'cn_pg');
      await old('s_gone', 'cn_deleted');
      await applyMigrations(client, (f) => f.startsWith('0009'));
      const rows = await client.query('SELECT id, protocol FROM sessions ORDER BY id');
      expect(rows.rows).toEqual([
        { id: 's_gone', protocol: 'postgres' },
        { id: 's_pg', protocol: 'postgres' },
        { id: 's_ssh', protocol: 'ssh' },
      ]);
    } finally {
      await client.end();
      await h.cp.cluster.query(`DROP DATABASE ${db}`);
    }
  });
});

describe('a session that never said goodbye (its lease)', () => {
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();
  const lifeRecord = (n: number, over: Partial<SessionRecord>) =>
    record(n, {
      connectionName: 'lease-db',
      endedAt: null,
      closeReason: null,
      startedAt: ago(600_000),
      ...over,
    });
  type Row = {
    id: string;
    state: string;
    endedAt: string | null;
    closeReason: string | null;
    refusals: number;
  };
  const ids = async (query: string) =>
    ((await h.call('GET', `/sessions?connection=lease-db&${query}`)).body.sessions as Row[])
      .map((s) => s.id)
      .sort();

  beforeAll(async () => {
    await withControlPlane(h.env, (db) =>
      upsertSessionRecords(db, [
        lifeRecord(201, { leaseUntil: ahead(3_600_000), refusals: 2 }),
        lifeRecord(202, { leaseUntil: ago(60_000) }),
        lifeRecord(203, { leaseUntil: ahead(3_600_000), endedAt: ago(1000), closeReason: 'client-closed' }),
        // Written before sessions held a lease.
        lifeRecord(204, { leaseUntil: null }),
      ]),
    );
  });

  it('is live while its lease runs, ended with reason unknown at the lease end once it has run out', async () => {
    const live = (await h.call('GET', `/sessions/${hexId(201)}`)).body as Row;
    expect(live).toMatchObject({ state: 'live', endedAt: null, closeReason: null, refusals: 2 });
    const lapsed = await h.call('GET', `/sessions/${hexId(202)}`);
    expect(lapsed.body).toMatchObject({ state: 'ended', closeReason: 'unknown' });
    expect(lapsed.body.endedAt).toBe(lapsed.body.leaseUntil);
    expect((await h.call('GET', `/sessions/${hexId(203)}`)).body).toMatchObject({
      state: 'ended',
      closeReason: 'client-closed',
    });
    expect((await h.call('GET', `/sessions/${hexId(204)}`)).body).toMatchObject({
      state: 'ended',
      closeReason: 'unknown',
    });
  });

  it('filters live and ended by the same rule, and sessions with refusals', async () => {
    expect(await ids('state=live')).toEqual([hexId(201)]);
    expect(await ids('state=ended')).toEqual([hexId(202), hexId(203), hexId(204)]);
    expect(await ids('refused=true')).toEqual([hexId(201)]);
    expect(await ids('state=live&refused=true')).toEqual([hexId(201)]);
    expect((await h.call('GET', '/sessions?state=open')).status).toBe(400);
  });

  it('a renewal that arrives late (the control plane was away) makes it live again; a lease never moves back', async () => {
    await withControlPlane(h.env, (db) =>
      upsertSessionRecords(db, [lifeRecord(202, { leaseUntil: ahead(60_000) })]),
    );
    expect((await h.call('GET', `/sessions/${hexId(202)}`)).body).toMatchObject({
      state: 'live',
      endedAt: null,
    });
    await withControlPlane(h.env, (db) =>
      upsertSessionRecords(db, [lifeRecord(202, { leaseUntil: ago(1) })]),
    );
    expect((await h.call('GET', `/sessions/${hexId(202)}`)).body.state).toBe('live');
  });

  it('an end with reason unknown never replaces an end; a known end replaces an unknown one', async () => {
    // postern dev ended this one at its stop (cli/dev/stack-sessions.ts); the old object's
    // successor then sends its lost-session record, reason unknown, at a later time.
    const stopped = lifeRecord(205, { endedAt: ago(5000), closeReason: 'edge-stopped' });
    const lost = lifeRecord(205, { endedAt: ago(10), closeReason: 'unknown' });
    await withControlPlane(h.env, (db) => upsertSessionRecords(db, [stopped]));
    await withControlPlane(h.env, (db) => upsertSessionRecords(db, [lost]));
    expect((await h.call('GET', `/sessions/${hexId(205)}`)).body).toMatchObject({
      endedAt: stopped.endedAt,
      closeReason: 'edge-stopped',
    });
    // Ended unknown at a restart, then the session's own end arrives: it says more.
    const swept = lifeRecord(206, { endedAt: ago(100), closeReason: 'unknown' });
    const own = lifeRecord(206, { endedAt: ago(9000), closeReason: 'target-closed' });
    await withControlPlane(h.env, (db) => upsertSessionRecords(db, [swept]));
    await withControlPlane(h.env, (db) => upsertSessionRecords(db, [own]));
    expect((await h.call('GET', `/sessions/${hexId(206)}`)).body).toMatchObject({
      endedAt: own.endedAt,
      closeReason: 'target-closed',
    });
    // The queue consumer's merge of one batch follows the same rule.
    expect(mergeRecords(stopped, lost)).toMatchObject({
      endedAt: stopped.endedAt,
      closeReason: 'edge-stopped',
    });
    expect(mergeRecords(swept, own)).toMatchObject({ endedAt: own.endedAt, closeReason: 'target-closed' });
    expect(mergeRecords(lifeRecord(207, {}), lost)).toMatchObject({
      endedAt: lost.endedAt,
      closeReason: 'unknown',
    });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.call('GET', '/openapi.json', undefined, null)).body;
    expect(doc.components.schemas.Session.properties.state.enum).toEqual(['live', 'ended']);
    const params = doc.paths['/sessions'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['state', 'refused']));
  });
});
