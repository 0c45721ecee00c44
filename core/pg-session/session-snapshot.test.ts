/**
 * An idle Postgres session goes on in a new object from its snapshot (issue 13, "Idle
 * sessions"): the module is the real one (real Cedar policy set, real SQL parser, real masking
 * with a catalog read at startup), driven by hand-built protocol bytes (§55). The host's part
 * (storage, the wake) is tested in the workers pool.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import { harness, type ConformanceDriver, type Harness } from '../session-host/conformance.ts';
import { cstring, int32, query } from '../pg/messages.ts';
import { cat, complete, framesOf, msg, ready, startup, textRow } from '../../test/support/pg-bytes.ts';
import { pgModuleDriver } from '../../test/support/pg-module-driver.ts';
import { m } from '../../test/support/pg-wire.ts';
import { parseErrorFields } from '../pg/messages.ts';
import { dataRowValues } from '../../test/support/pg-wire.ts';
import type { PgConnection } from './postgres-module.ts';
import { decodeSnapshot, MAX_SNAPSHOT_CHARS } from './session-snapshot.ts';

const int16 = (n: number) => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
/** RowDescription of text columns of one table (its OID, each column's attnum from 1). */
const rowDescription = (tableOid: number, ...names: string[]) =>
  msg(
    'T',
    int16(names.length),
    ...names.map((n, i) =>
      cat(cstring(n), int32(tableOid), int16(i + 1), int32(25), int16(-1 & 0xffff), int32(-1), int16(0)),
    ),
  );

const PEOPLE = 16384;
const SSN = '123-45-6789';
let driver: ConformanceDriver<PgConnection>;

beforeAll(async () => {
  await nodeCedar();
  const policies = CompiledPolicies.compile('hibernate', [
    {
      id: 'all-but',
      text: `permit(principal, action, resource) unless {
        action == Postern::Action::"sql:ddl" || action == Postern::Action::"sql:delete" ||
        action == Postern::Action::"unmask" };`,
    },
    {
      id: 'ddl-approved',
      text: '@approval("dba")\npermit(principal, action == Postern::Action::"sql:ddl", resource);',
    },
  ]);
  driver = pgModuleDriver({
    name: 'hibernate',
    policies,
    masking: { columns: [{ table: 'people', column: 'ssn', strategy: 'redact' }], detectors: {} },
    clientHello: startup({ user: 'alice', database: 'app', application_name: 'psql' }),
    // The gateway's preflight: masking's catalog, then the relations policy resolves against.
    preflight: cat(
      textRow('a', `${PEOPLE}:2`, 'people', 'ssn'),
      textRow('c', String(PEOPLE), 'people', 'id'),
      textRow('c', String(PEOPLE), 'people', 'ssn'),
      complete('SELECT 3'),
      textRow('p', '"$user", public', 'app', null),
      complete('SELECT 1'),
      ready(),
    ),
  }) as ConformanceDriver<PgConnection>;
});

async function opened(): Promise<Harness> {
  const h = await harness(driver);
  await driver.open(h);
  await new Promise((r) => setTimeout(r, 0));
  expect(h.session.phase).toBe('open');
  return h;
}

/** Client-bound messages since `from` (an index into h.toClient). */
const clientSince = (h: Harness, from: number) =>
  framesOf(...h.toClient.slice(from)).map((f) => ({ type: String.fromCharCode(f.type), body: f.body }));
const errorCodes = (h: Harness, from = 0) =>
  clientSince(h, from)
    .filter((x) => x.type === 'E')
    .map((x) => parseErrorFields(x.body)['C']);

function snapshotOf(h: Harness): string {
  const s = h.session.idleSnapshot!();
  if (typeof s !== 'string') throw new Error(`not idle: ${s.busy}`);
  return s;
}

async function resumed(snapshot: unknown): Promise<Harness> {
  return harness(driver, { snapshot });
}

describe('an idle Postgres session, snapshotted and resumed in a new object', () => {
  it('goes on open, without a byte to either side, with the target key and counters it had', async () => {
    const h = await opened();
    h.fromClient(query('SELECT 1'));
    h.fromTarget(cat(complete('SELECT 1'), ready()));
    const snap = snapshotOf(h);
    const r = await resumed(snap);
    expect(r.session.phase).toBe('open');
    expect(r.toClient).toHaveLength(0);
    expect(r.toTarget).toHaveLength(0);
    expect(r.session.cancellation?.targetKey()).toEqual({ processId: 7, secretKey: 8 });
    expect(r.session.stats.statements).toBe(h.session.stats.statements);
    expect(r.session.stats.bytesFromClient).toBe(h.session.stats.bytesFromClient);
    // And it can hibernate again, with the same state.
    expect(snapshotOf(r)).toBe(snap);
  });

  it('still refuses what policy forbids: nothing reaches the target', async () => {
    const r = await resumed(snapshotOf(await opened()));
    r.fromClient(query('DELETE FROM people'));
    expect(r.toTarget).toHaveLength(0);
    expect(errorCodes(r)).toEqual(['42501']);
    expect(r.ended).toEqual([]);
  });

  it('still masks a masked column, with the catalog read before the wake', async () => {
    const r = await resumed(snapshotOf(await opened()));
    r.fromClient(query('SELECT id, ssn FROM people'));
    expect(r.toTarget).toHaveLength(1);
    r.fromTarget(cat(rowDescription(PEOPLE, 'id', 'ssn'), textRow('1', SSN), complete('SELECT 1'), ready()));
    const rows = clientSince(r, 0).filter((x) => x.type === 'D');
    expect(rows).toHaveLength(1);
    const [id, ssn] = dataRowValues(rows[0]!.body);
    expect(id).toBe('1');
    expect(ssn).not.toContain('6789');
    expect(ssn).toContain('REDACTED');
  });

  it('an approved-once statement is not run again after the wake: it is held again', async () => {
    const h = await opened();
    // DDL that changes no relation (a CREATE would keep the session in memory: the names it
    // may have made are not in the snapshot, session-snapshot-attacks.test.ts).
    h.fromClient(query("COMMENT ON TABLE people IS 'x'"));
    expect(h.held).toHaveLength(1);
    expect(typeof h.session.idleSnapshot!()).toBe('object'); // held: not idle
    h.session.resolveHeld(true, '');
    expect(h.toTarget.length).toBeGreaterThan(0);
    const sent = h.toTarget.length;
    h.fromTarget(cat(complete('COMMENT'), ready()));
    const r = await resumed(snapshotOf(h));
    expect(h.toTarget).toHaveLength(sent);
    r.fromClient(query("COMMENT ON TABLE people IS 'x'"));
    expect(r.held).toHaveLength(1);
    expect(r.toTarget).toHaveLength(0);
  });
});

describe('a session that is not idle-complete is never snapshotted', () => {
  const cases: Array<[string, (h: Harness) => void]> = [
    ['a query is in flight', (h) => h.fromClient(query('SELECT 1'))],
    [
      'a transaction is open',
      (h) => (h.fromClient(query('BEGIN')), h.fromTarget(cat(complete('BEGIN'), ready('T')))),
    ],
    ['a statement is held for approval', (h) => h.fromClient(query('CREATE TABLE t (a int)'))],
    ['a client message is half read', (h) => h.fromClient(query('SELECT 1').subarray(0, 7))],
    ['a target message is half read', (h) => h.fromTarget(complete('SELECT 1').subarray(0, 3))],
    [
      'the server holds a prepared statement',
      (h) => {
        h.fromClient(cat(m.parse('s1', 'SELECT 1'), m.sync()));
        h.fromTarget(cat(msg('1'), ready()));
      },
    ],
    [
      'an extended-query batch is open (no Sync yet)',
      (h) => h.fromClient(cat(m.parse('', 'SELECT 1'), m.bind('', ''), m.execute())),
    ],
  ];
  for (const [name, step] of cases) {
    it(name, async () => {
      const h = await opened();
      step(h);
      expect(h.ended).toEqual([]);
      const s = h.session.idleSnapshot!();
      expect(typeof s).toBe('object');
      expect((s as { busy: string }).busy).toMatch(/\w/);
    });
  }

  it('nor is one still starting up', async () => {
    const h = await harness(driver);
    h.fromClient(driver.clientHello);
    expect(typeof h.session.idleSnapshot!()).toBe('object');
  });
});

describe('a snapshot that does not read back fails closed', () => {
  const tamper: Array<[string, (s: Record<string, unknown>) => unknown]> = [
    ['truncated', (s) => JSON.stringify(s).slice(0, 40)],
    ['not text', (s) => s],
    ["another session's", (s) => JSON.stringify({ ...s, session: 'ses_other' })],
    ['another version', (s) => JSON.stringify({ ...s, v: 2 })],
    ['an extra field', (s) => JSON.stringify({ ...s, phase: 'proxy' })],
    ['a missing field', (s) => JSON.stringify({ ...s, catalog: undefined })],
    ['a catalog of another policy', (s) => JSON.stringify({ ...s, catalog: [] })],
    ['a catalog cell not text', (s) => JSON.stringify({ ...s, catalog: [[[1]], []] })],
    [
      'a key out of range',
      (s) => JSON.stringify({ ...s, upstreamKey: { processId: 2 ** 40, secretKey: 8 } }),
    ],
    [
      'negative counters',
      (s) => JSON.stringify({ ...s, stats: { bytesFromClient: -1, bytesToClient: 0, statements: 0 } }),
    ],
    ['too large', (s) => JSON.stringify({ ...s, pad: 'x'.repeat(MAX_SNAPSHOT_CHARS) })],
  ];
  for (const [name, change] of tamper) {
    it(`${name}: the session ends with a gateway error, nothing reaches the target`, async () => {
      const good = JSON.parse(snapshotOf(await opened())) as Record<string, unknown>;
      const r = await resumed(change(good));
      expect(r.ended.map((e) => e.kind)).toEqual(['gateway-error']);
      expect(r.ended[0]!.detail).toMatch(/snapshot could not be restored/);
      expect(errorCodes(r)).toEqual(['XX000']);
      r.fromClient(query('SELECT 1'));
      expect(r.toTarget).toHaveLength(0);
      expect(r.session.phase).toBe('closed');
    });
  }

  it('reads back exactly what was written, and only for its own session', async () => {
    const text = snapshotOf(await opened());
    expect(decodeSnapshot(text, 'ses_hibernate', 2)).toEqual(JSON.parse(text));
    expect(decodeSnapshot(text, 'ses_hibernate', 1)).toEqual({ invalid: 'catalog' });
  });
});
