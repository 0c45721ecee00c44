/**
 * Postgres behind the session host's protocol interface (core/session-host/protocol.ts): the
 * PgSession state machine with its policy wiring (postgres-policy.ts). What only Postgres has
 * stays here: the SQL parser, the cancel keys (the `cancellation` capability), forgetting
 * prepared statements when access changes, and NOTICE/ErrorResponse as the wire for the host's
 * notices and close reasons.
 */
import type { SqlParser } from '../sql/pg-parser.ts';
import type {
  ProtocolConnection,
  ProtocolIo,
  ProtocolModule,
  ProtocolPhase,
  ProtocolSession,
  SessionKey,
  TargetCredential,
} from '../session-host/protocol.ts';
import type { CloseReason } from '../session-host/close-reason.ts';
import type { HeldRequest, SessionNotice } from '../session-host/held-request.ts';
import { buildPostgresPolicy, type PostgresPolicy } from './postgres-policy.ts';
import { PgSession } from './session.ts';
import { fromHostReason, toHostReason } from './neutral-reason.ts';
import { decodeSnapshot, encodeSnapshot } from './session-snapshot.ts';

/** A Postgres connection logs in to one database as one user, whatever the client asked for. */
export interface PgConnection extends ProtocolConnection {
  database: string;
  username: string;
}

export interface PostgresRuntime {
  /** The WASM Postgres parser (loaded once per isolate by the edge). */
  sqlParser(): Promise<SqlParser>;
  /** Largest message either side may send (Postgres' own limits, core/pg/limits.ts). */
  maxMessageBytes: number;
  /** Largest message the session holds whole to read it (PgSessionConfig.maxHeldMessageBytes). */
  maxHeldMessageBytes: number;
}

export function postgresModule(runtime: PostgresRuntime): ProtocolModule<PgConnection> {
  return {
    protocol: 'postgres',
    prepare: async (start, services) => {
      const parser = await runtime.sqlParser();
      let session: PgSession | undefined;
      const policy = buildPostgresPolicy(start, services, parser, {
        resolutionChanged: () => session?.forgetStatements(),
      });
      return {
        openDetails: { unmasked: policy.unmasked },
        open: (io, key) => {
          const s = new PostgresSession(start.connection, runtime, policy, io, key, start.sessionId);
          session = s.pg;
          return s;
        },
        resume: (io, key, stored) => {
          const s = new PostgresSession(start.connection, runtime, policy, io, key, start.sessionId);
          session = s.pg;
          const snapshot = decodeSnapshot(stored, start.sessionId, policy.config.preflight?.length ?? 0);
          const why = 'invalid' in snapshot ? snapshot.invalid : s.pg.resume(snapshot);
          if (why) s.pg.resumeFailed(`the idle session's snapshot could not be restored: ${why}`);
          return s;
        },
      };
    },
  };
}

const PHASES = { startup: 'starting', proxy: 'open', closed: 'closed' } as const;

class PostgresSession implements ProtocolSession {
  readonly pg: PgSession;
  readonly cancellation = {
    // Only while open: a key from a session that has ended must not cancel anything.
    targetKey: (): SessionKey | undefined => (this.pg.phase === 'proxy' ? this.pg.upstreamKey : undefined),
  };

  constructor(
    conn: PgConnection,
    runtime: PostgresRuntime,
    private readonly policy: PostgresPolicy,
    io: ProtocolIo,
    key: SessionKey,
    private readonly sessionId: string,
  ) {
    this.pg = new PgSession(
      {
        upstreamUser: conn.username,
        upstreamDatabase: conn.database,
        scramKeyScope: conn.id,
        gatewayKey: key,
        maxMessageBytes: runtime.maxMessageBytes,
        maxHeldMessageBytes: runtime.maxHeldMessageBytes,
        ...policy.config,
      },
      {
        toClient: (bytes) => io.toClient(bytes),
        toUpstream: (bytes) => io.toTarget(bytes),
        end: (reason) => io.end(toHostReason(reason)),
        cancelRequested: (k) => io.cancelElsewhere?.(k),
        // The checker's tickets are HeldRequests (postgres-policy.ts).
        held: (ticket) => io.held(ticket as HeldRequest),
        clientStarted: (params) => {
          const app = params['application_name'];
          if (app) io.clientApplication?.(app);
        },
      },
    );
  }

  get phase(): ProtocolPhase {
    return PHASES[this.pg.phase];
  }

  get stats() {
    return this.pg.stats;
  }

  clientData(bytes: Uint8Array): void {
    this.pg.clientData(bytes);
  }

  clientClosed(): void {
    this.pg.clientClosed();
  }

  targetOpen(credential: TargetCredential): void {
    // Postgres' login methods (SCRAM, md5, cleartext) all take a password.
    if (credential.kind !== 'password') {
      return this.fail({ kind: 'target-auth', detail: 'a Postgres connection needs a password credential' });
    }
    this.pg.upstreamOpen(credential.secret);
  }

  targetData(bytes: Uint8Array): void {
    this.pg.upstreamData(bytes);
  }

  targetClosed(): void {
    this.pg.upstreamClosed();
  }

  fail(reason: CloseReason): void {
    this.pg.terminate(fromHostReason(reason));
  }

  resolveHeld(approved: boolean, message: string): void {
    this.pg.resolveHeld(approved, message);
  }

  revalidate(): void {
    // Cached verdicts and checked prepared statements were decided with the old access.
    this.policy.gate.forgetDecisions();
    this.pg.forgetStatements();
  }

  notice(n: SessionNotice): void {
    this.pg.notice({ severity: 'NOTICE', code: '00000', ...n });
  }

  closeDetails(): Record<string, unknown> {
    return { masked: this.policy.masker.counts };
  }

  idleSnapshot(): string | { busy: string } {
    const snapshot = this.pg.idleSnapshot(this.sessionId);
    if ('busy' in snapshot) return snapshot;
    return encodeSnapshot(snapshot) ?? { busy: 'the snapshot would be too large' };
  }
}
