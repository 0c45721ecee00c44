/**
 * The Postgres module passes the session host's conformance suite (core/session-host/
 * conformance.ts), driven by hand-built Postgres bytes: a client and a target as psql and a
 * server would speak (protocol §55), with a real Cedar policy set and the real SQL parser.
 */
import { beforeAll, describe, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import { conformanceChecks, type ConformanceDriver } from '../session-host/conformance.ts';
import { query } from '../pg/messages.ts';
import { cat, complete, msg, ready, startup, textRow } from '../../test/support/pg-bytes.ts';
import { pgModuleDriver } from '../../test/support/pg-module-driver.ts';
import { int32 } from '../pg/messages.ts';
import type { PgConnection } from './postgres-module.ts';

let driver: ConformanceDriver<PgConnection>;

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
    ...pgModuleDriver({
      name: 'conformance',
      policies,
      masking: { columns: [], detectors: {} },
      clientHello: startup({ user: 'alice', database: 'app' }),
      // The answer to the gateway's own relations query (policy may hold statements as shapes).
      preflight: cat(textRow('p', '"$user", public', 'app', null), complete('SELECT 1'), ready()),
    }),
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
