import type { ResultMasker } from '../mask/result-masker.ts';
import type { CancelKey } from '../pg/types.ts';
import type { CloseReason } from './close-reason.ts';
import type { PreflightQuery } from './preflight.ts';
import type { HoldTicket, StatementChecker } from './statement-flow.ts';

/** What a PgSession does to the world: bytes to each side, and the end. */
export interface PgSessionIO {
  toClient(bytes: Uint8Array): void;
  toUpstream(bytes: Uint8Array): void;
  /** The session is over: close both sides. Called once. */
  end(reason: CloseReason): void;
  /** The client's first packet was a CancelRequest for some other session. */
  cancelRequested(key: CancelKey): void;
  /** The client finished its StartupMessage (for the session record). */
  clientStarted?(params: Record<string, string>): void;
  /** The session is ready for queries (setup time is measured up to here). */
  ready?(): void;
  /**
   * A statement waits for approval (the checker's ticket); answer with `resolveHeld`. Without
   * this, statements needing approval are refused.
   */
  held?(ticket: HoldTicket): void;
}

export interface PgSessionConfig {
  upstreamUser: string;
  upstreamDatabase: string;
  /**
   * Names the connection whose SCRAM keys this session may reuse (core/pg/scram.ts `derived`);
   * without it every login derives its own.
   */
  scramKeyScope?: string;
  /** The key this gateway hands the client in BackendKeyData. */
  gatewayKey: CancelKey;
  /** Largest message either side may send (Postgres' own limits apply below it per type). */
  maxMessageBytes: number;
  /**
   * Largest message the gateway holds whole to read it (a Query or Parse it checks, a Bind, a
   * row with a masked column); default 32 MiB. Bigger ones are refused with an error that says
   * so; messages nothing needs to read (unmasked rows, COPY data) stream and have no such limit.
   */
  maxHeldMessageBytes?: number;
  /** Bound on client bytes held while the target is not ready yet. */
  maxPendingClientBytes?: number;
  /** Policy on every statement; without it the session relays (tests of the transport only). */
  checker?: StatementChecker;
  /** Rewrites results (masking); needs `checker`. */
  masker?: ResultMasker;
  /**
   * Queries the gateway runs on the target before the client is ready (masking's catalog, the
   * relations policy resolves names against), in one round trip.
   */
  preflight?: PreflightQuery[];
}
