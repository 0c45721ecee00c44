/**
 * The real Postgres module (core/pg-session/postgres-module.ts) as the unit tests drive it with
 * hand-built bytes (§55): the real SQL parser, a policy set the test compiles, alice of group
 * `dev` on one connection, a password credential, and a target that logs in at once. The
 * conformance suite (postgres-module.test.ts) and the snapshot tests (session-snapshot.test.ts)
 * both start from it, so a change to the module's login is made in one place.
 */
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { postgresModule, type PgConnection } from '../../core/pg-session/postgres-module.ts';
import { cstring, int32 } from '../../core/pg/messages.ts';
import type { CompiledPolicies } from '../../core/policy/engine.ts';
import type { ConformanceDriver, Harness } from '../../core/session-host/conformance.ts';
import { cat, msg, ready } from './pg-bytes.ts';
import { alice } from './identities.ts';

export type PgModuleDriver = Pick<
  ConformanceDriver<PgConnection>,
  'module' | 'start' | 'policies' | 'credential' | 'clientHello' | 'open'
>;

export interface PgModuleDriverOptions {
  /** Names the session (`ses_<name>`) and the connection (`cn_<name>`). */
  name: string;
  policies: CompiledPolicies;
  masking: PgConnection['masking'];
  clientHello: Uint8Array;
  /** The target's answer to the gateway's own queries after login (core/pg-session/preflight.ts). */
  preflight: Uint8Array;
}

/** The target's side of a trust login: the settings the gateway requires, its key, ready. */
export const trustLogin = (): Uint8Array =>
  cat(
    msg('R', int32(0)),
    msg('S', cstring('client_encoding'), cstring('UTF8')),
    msg('S', cstring('standard_conforming_strings'), cstring('on')),
    msg('K', int32(7), int32(8)),
    ready(),
  );

export function pgModuleDriver(o: PgModuleDriverOptions): PgModuleDriver {
  const credential = { kind: 'password', secret: 'pw' } as const;
  return {
    module: postgresModule({
      sqlParser: nodeSqlParser,
      maxMessageBytes: 1 << 30,
      maxHeldMessageBytes: 32 << 20,
    }),
    start: {
      sessionId: `ses_${o.name}`,
      identity: alice(),
      connection: {
        id: `cn_${o.name}`,
        name: o.name,
        database: 'app',
        username: 'app',
        masking: o.masking,
      },
    },
    policies: o.policies,
    credential,
    clientHello: o.clientHello,
    open: (h: Harness) => {
      h.fromClient(o.clientHello);
      h.session.targetOpen(credential);
      h.fromTarget(trustLogin());
      h.fromTarget(o.preflight);
    },
  };
}
