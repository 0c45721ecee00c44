/**
 * Attacks on the idle snapshot (session-snapshot.ts): what a session learnt AFTER the preflight
 * (a search_path or role it set, which policy resolves table names under: core/policy/
 * table-resolver.ts) is not in the snapshot, whose catalog is replayed on wake. A session that
 * set `search_path = secret` must not wake with the start's path and read secret.accounts as
 * public.accounts. Either the session is not snapshotted (it stays in memory), or the session
 * resumed from it still refuses: both are asserted as what the target would get.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { CompiledPolicies } from '../policy/engine.ts';
import { harness, type ConformanceDriver, type Harness } from '../session-host/conformance.ts';
import { cstring, parseErrorFields, query } from '../pg/messages.ts';
import { cat, framesOf, msg, ready, startup, textRow } from '../../test/support/pg-bytes.ts';
import { pgModuleDriver } from '../../test/support/pg-module-driver.ts';
import type { PgConnection } from './postgres-module.ts';

const complete = (tag: string) => msg('C', cstring(tag));

let driver: ConformanceDriver<PgConnection>;

beforeAll(async () => {
  await nodeCedar();
  const policies = CompiledPolicies.compile('hibernate-paths', [
    {
      id: 'paths',
      text: `permit(principal, action, resource);
        forbid(principal, action == Postern::Action::"sql:select", resource == Postern::Table::"secret.accounts");`,
    },
  ]);
  driver = pgModuleDriver({
    name: 'paths',
    policies,
    masking: { columns: [], detectors: {} },
    clientHello: startup({ user: 'alice', database: 'app' }),
    // The relations preflight: `accounts` in public and in secret; no schema named after the user.
    preflight: cat(
      textRow('p', '"$user", public', 'app', null),
      textRow('r', 'public', 'accounts', '1'),
      textRow('r', 'secret', 'accounts', '1'),
      complete('SELECT 3'),
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

const errorCodes = (h: Harness) =>
  framesOf(...h.toClient)
    .filter((f) => f.type === 0x45)
    .map((f) => parseErrorFields(f.body)['C']);

/** The statement's fate in `h`: forwarded to the target, or refused by the gateway. */
function fate(h: Harness, sql: string): 'forwarded' | 'refused' {
  const sent = h.toTarget.length;
  const errors = errorCodes(h).length;
  h.fromClient(query(sql));
  if (h.toTarget.length > sent) return 'forwarded';
  expect(errorCodes(h).slice(errors)).toEqual(['42501']);
  return 'refused';
}

describe('attack: a namespace change, then hibernation', () => {
  const changes: Array<[string, string, string]> = [
    ['SET search_path', 'SET search_path = secret, public', 'SET'],
    ['set_config(search_path)', "SELECT set_config('search_path', 'secret, public', false)", 'SELECT 1'],
    ['SET ROLE (whose $user schema is secret)', 'SET ROLE secret', 'SET'],
  ];
  for (const [name, change, tag] of changes) {
    it(`${name}: secret.accounts stays refused after the wake`, async () => {
      const h = await opened();
      h.fromClient(query(change));
      h.fromTarget(cat(complete(tag), ready()));
      expect(h.ended).toEqual([]);
      // In memory the gateway knows `accounts` may now be secret.accounts.
      expect(fate(h, 'SELECT v FROM accounts')).toBe('refused');
      const snap = h.session.idleSnapshot!();
      if (typeof snap !== 'string') {
        // Not snapshotted: the session stays in memory, with what it learnt.
        expect(snap.busy).toMatch(/search_path|role/);
        return;
      }
      const r = await harness(driver, { snapshot: snap });
      expect(r.session.phase).toBe('open');
      expect(fate(r, 'SELECT v FROM accounts')).toBe('refused');
    });
  }

  it('a session that changed nothing is still snapshotted (the check is not "never")', async () => {
    const h = await opened();
    h.fromClient(query('SELECT v FROM accounts'));
    h.fromTarget(cat(complete('SELECT 0'), ready()));
    expect(typeof h.session.idleSnapshot!()).toBe('string');
  });
});
