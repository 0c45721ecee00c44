/**
 * The Postgres module passes the session host's conformance suite (core/session-host/
 * conformance.ts), driven by hand-built Postgres bytes: a client and a target as psql and a
 * server would speak (protocol §55), with a real Cedar policy set and the real SQL parser.
 */
import { beforeAll, describe, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import { conformanceChecks, type ConformanceDriver } from '../session-host/conformance.ts';
import { query } from '../pg/messages.ts';
import { cat, msg, ready, startup } from '../../test/support/pg-bytes.ts';
import { int32, cstring } from '../pg/messages.ts';
import { postgresModule, type PgConnection } from './postgres-module.ts';

let driver: ConformanceDriver<PgConnection>;

/** A DataRow of text values (§55.7). */
const dataRow = (...values: Array<string | null>) =>
  msg(
    'D',
    [values.length >> 8, values.length & 0xff],
    ...values.map((v) =>
      v === null ? int32(-1) : cat(int32(new TextEncoder().encode(v).length), cstring(v).subarray(0, -1)),
    ),
  );

beforeAll(async () => {
  await nodeCedar();
  const policies = CompiledPolicies.compile('conformance', [
    {
      id: 'all-but-ddl',
      text: 'permit(principal, action, resource) unless { action == Postern::Action::"sql:ddl" };',
    },
    {
      id: 'ddl-approved',
      text: '@approval("dba")\npermit(principal, action == Postern::Action::"sql:ddl", resource);',
    },
  ]);
  const select = query('SELECT 1');
  driver = {
    module: postgresModule({
      sqlParser: nodeSqlParser,
      maxMessageBytes: 1 << 30,
      maxHeldMessageBytes: 32 << 20,
    }),
    start: {
      sessionId: 'ses_conformance',
      identity: {
        issuer: 'https://issuer.test',
        subject: 'alice',
        groups: ['dev'],
        attributes: {},
        expiresAt: 0,
      },
      connection: {
        id: 'cn_conformance',
        name: 'conformance',
        database: 'app',
        username: 'app',
        masking: { columns: [], detectors: {} },
      },
    },
    policies,
    credential: { kind: 'password', secret: 'pw' },
    clientHello: startup({ user: 'alice', database: 'app' }),
    open: (h) => {
      h.fromClient(driver.clientHello);
      h.session.targetOpen(driver.credential);
      // The target: trust login, the settings the gateway requires, its key, ready; then the
      // answer to the gateway's own relations query (policy may hold statements as shapes).
      h.fromTarget(
        cat(
          msg('R', int32(0)),
          msg('S', cstring('client_encoding'), cstring('UTF8')),
          msg('S', cstring('standard_conforming_strings'), cstring('on')),
          msg('K', int32(7), int32(8)),
          ready(),
        ),
      );
      h.fromTarget(cat(dataRow('p', '"$user", public', 'app', null), msg('C', cstring('SELECT 1')), ready()));
    },
    midLogin: (h) => {
      h.fromClient(driver.clientHello);
      h.session.targetOpen(driver.credential);
      // AuthenticationMD5Password with its salt (§55.7): the gateway hashes, then answers.
      h.fromTarget(msg('R', int32(5), [1, 2, 3, 4]));
    },
    request: select,
    heldRequest: query('CREATE TABLE t (a int)'),
    // A message that declares a negative length (§55.7: the length includes itself).
    clientGarbage: cat(new Uint8Array([0x51]), int32(-1)),
    targetGarbage: cat(new Uint8Array([0x44]), int32(2)),
    // Statements of 8 KB: the bytes add up without a Cedar call per 14 of them.
    flood: (bytes) => {
      const one = query(`SELECT '${'x'.repeat(8000)}'`);
      const n = Math.ceil(bytes / one.length);
      const out = new Uint8Array(n * one.length);
      for (let i = 0; i < n; i++) out.set(one, i * one.length);
      return out;
    },
    // StatementFlow keeps 1 MiB behind a held statement; the framer a message head.
    holdBound: (1 << 20) + 64 * 1024,
    propertyRuns: Number(process.env['PROPERTY_RUNS'] ?? 50),
  };
});

describe('the Postgres module (session host conformance)', () => {
  // The checks are listed once the driver exists; their names are fixed.
  const names = conformanceChecks({} as ConformanceDriver<PgConnection>).map((c) => c.name);
  for (const [i, name] of names.entries()) {
    it(name, async () => {
      await conformanceChecks(driver)[i]!.run();
    });
  }
});
