/**
 * The one small interface between the session host (the SessionDO: sockets, data channel,
 * alarms, grants, approvals, audit log, session record) and a protocol (Postgres now, SSH, then
 * Kubernetes), issue 11 §2 and style.md #16. A module turns bytes into decisions and bytes, with
 * no I/O of its own: what it sends, holds and ends goes through `ProtocolIo`, what it decides
 * with and records through `ProtocolServices`. Every module passes the same conformance suite
 * (conformance.ts).
 *
 * Life of a session, as the host drives it:
 *   prepare(start, services)   before anything is dialled; throws → the client is refused (503)
 *   open(io, key)              after the connector took the dial; the client socket is accepted
 *   clientData / targetOpen / targetData / ... until the module calls io.end(reason), once.
 */
import type { Identity } from '../identity/identity.ts';
import type { MaskingConfig } from '../mask/config.ts';
import type { CompiledPolicies } from '../policy/engine.ts';
import type { HeldApproval } from '../policy/gate-verdict.ts';
import type { PolicySubject } from '../policy/principal.ts';
import type { AuditKind } from '../audit/chain.ts';
import type { AuditResult } from '../audit/carried-results.ts';
import type { CloseReason } from './close-reason.ts';
import type { HeldRequest, SessionNotice } from './held-request.ts';
import type { ExchangeAnswer, ExchangeRefusalKind, RequestExchanges } from './request-exchange.ts';

/** What every connection tells a module; a module widens it with its own fields (`C`). */
export interface ProtocolConnection {
  id: string;
  name: string;
  masking: MaskingConfig;
}

export interface ProtocolStart<C extends ProtocolConnection = ProtocolConnection> {
  sessionId: string;
  connection: C;
  identity: Identity;
  /** The edge's own origin as the client reached it (for "how to approve" hints). */
  edgeUrl?: string;
}

/**
 * The connector-wide key of a session (its slot and a secret), issued by the ConnectorDO with
 * the dial. Postgres hands it to its client as BackendKeyData so a CancelRequest can find the
 * session; other protocols may ignore it.
 */
export interface SessionKey {
  processId: number;
  secretKey: number;
}

/** The credential the gateway logs in to the target with; the client never sees it. */
export interface TargetCredential {
  kind: 'password' | 'private_key' | 'bearer_token' | 'client_certificate';
  /**
   * The password, the private key (OpenSSH or PKCS#8 PEM), the bearer token, or the client
   * certificate and its key (PEM); '' when the connector holds the credential itself.
   */
  secret: string;
}

/** What the host gives a module to decide and record with. */
export interface ProtocolServices {
  /** The session's compiled policy set (Cedar, default deny) and its principal and connection. */
  policies: CompiledPolicies;
  subject: PolicySubject;
  /**
   * Appends an event to the session's hash-chained audit log, synchronously, and returns its
   * `seq`. Throws when it could not: the module then refuses what it was about to forward
   * (audit before forward).
   */
  audit(kind: AuditKind, data: Record<string, unknown>, outcome?: string | null): number;
  /**
   * What an audited request came to (a Postgres statement's rows or SQLSTATE and duration,
   * `of` the seq `audit` returned for it). Never a write of its own on the hot path: the log
   * carries it on the next event it writes anyway (`data.results`), or writes it at idle and at
   * the session's end (docs/audit.md "results"). Never throws.
   */
  auditResult(result: AuditResult): void;
  /** The actions of the session's access grants valid now (Cedar's `context.grants`). */
  grants(): string[];
  /** An earlier "approve for this session" covers this approval requirement. */
  coveredBySession(approval: HeldApproval): boolean;
  /** The secret masking tokens are keyed with (per connection, so tokens join within it). */
  maskingSecret: string;
  /** Epoch milliseconds now. */
  now(): number;
  /**
   * Opens a secret the edge sealed with the credential keyring under `aad` (an SSH
   * connection's gateway host key: core/ssh/gateway-host-key.ts). Rejects when it cannot.
   */
  unseal(sealed: { keyId: string; ciphertext: string }, aad: string): Promise<string>;
  /**
   * Trust on first use of a target's host key (an OpenSSH public-key line): the control plane
   * records it as the connection's pin only while it has none (compare-and-set), and says
   * whether the pin now in place is this key. Rejects when the control plane cannot be asked.
   */
  learnTargetHostKey(key: string): Promise<'learned' | 'matches' | 'mismatch'>;
}

/** What a module does to the world. The host owns the sockets, the approvals and the end. */
export interface ProtocolIo {
  toClient(bytes: Uint8Array): void;
  toTarget(bytes: Uint8Array): void;
  /** The session is over: the host closes both sides. A module calls it exactly once, and then sends nothing. */
  end(reason: CloseReason): void;
  /**
   * A request waits for approval; the host answers with `ProtocolSession.resolveHeld`. A module
   * holds at most one request at a time, with what follows it (bounded).
   */
  held(request: HeldRequest): void;
  /** The client named its software (Postgres `application_name`, an SSH version string), for the session record. */
  clientApplication?(name: string): void;
  /** The connection carried an out-of-band cancel for the session holding `key` (Postgres CancelRequest). */
  cancelElsewhere?(key: SessionKey): void;
  /**
   * A JSON text frame to the connector on the data channel (a Kubernetes session's sealed client
   * certificate, which the connector presents in TLS: core/tunnel/protocol.ts ChannelCredential).
   */
  channelMessage?(text: string): void;
}

export type ProtocolPhase = 'starting' | 'open' | 'closed';

/** What the session record counts (`statements`: the requests the module decided). */
export interface SessionStats {
  bytesFromClient: number;
  bytesToClient: number;
  statements: number;
}

/** One session of a protocol. Never throws: hostile bytes end the session with a reason. */
export interface ProtocolSession {
  readonly phase: ProtocolPhase;
  readonly stats: SessionStats;
  clientData(bytes: Uint8Array): void;
  clientClosed(): void;
  /** The data channel to the target is open: log in with the connection's credential. */
  targetOpen(credential: TargetCredential): void;
  targetData(bytes: Uint8Array): void;
  targetClosed(): void;
  /** Ends the session from outside (channel failed or timed out, access ended): the module tells its client why. */
  fail(reason: CloseReason): void;
  /** The held request was approved (it goes to the target, once) or refused (`message` says why). */
  resolveHeld(approved: boolean, message: string): void;
  /**
   * The access the session has changed (a grant ended): decisions cached or checked earlier
   * (verdicts, prepared statements) are made afresh from now on.
   */
  revalidate(): void;
  /** Tells the client something now, while it waits (how to approve a held request). */
  notice(notice: SessionNotice): void;
  /** Data the `session_close` audit event carries besides the reason and the stats (what was masked). */
  closeDetails(): Record<string, unknown>;
  /**
   * Hibernation (issue 13): what a new object needs to go on with this session, as text for one
   * storage put, or why it may not hibernate now (something in flight, held, half-read). Only
   * when the module can tell it is idle-complete. Absent: the protocol's sessions never hibernate.
   */
  idleSnapshot?(): string | { busy: string };
  /** Optional: a protocol with out-of-band cancel (Postgres). */
  readonly cancellation?: Cancellation;
  /** Optional: a request-oriented protocol (Kubernetes) takes HTTP requests instead of client bytes. */
  readonly requests?: RequestExchanges;
}

/** A protocol whose client can cancel a running request from another connection. */
export interface Cancellation {
  /** The target's own key for the running request's connection; undefined until known or once closed. */
  targetKey(): SessionKey | undefined;
}

/** A session made ready before the dial: policy compiled, runtimes loaded, keys unsealed. */
export interface PreparedProtocol {
  /** Data the `session_open` audit event carries for this protocol (the masking rules lifted). */
  readonly openDetails: Record<string, unknown>;
  open(io: ProtocolIo, key: SessionKey): ProtocolSession;
  /**
   * The session a stored `idleSnapshot` describes, open, in a new object (its predecessor
   * hibernated, issue 13). A snapshot that does not read back exactly ends it at once with a
   * gateway error (fail closed: never go on from a guess). Absent with `idleSnapshot`.
   */
  resume?(io: ProtocolIo, key: SessionKey, snapshot: unknown): ProtocolSession;
}

export interface ProtocolModule<C extends ProtocolConnection = ProtocolConnection> {
  /** The connection's `protocol` this module serves. */
  readonly protocol: string;
  /** A property, not a method, so a registry of modules checks the connection type contravariantly. */
  readonly prepare: (start: ProtocolStart<C>, services: ProtocolServices) => Promise<PreparedProtocol>;
  /**
   * A request-oriented protocol's answer when the host itself refuses a request (no session could
   * be set up, the body is too large, the session ended), in the protocol's own shape.
   */
  readonly exchangeRefusal?: (kind: ExchangeRefusalKind, message: string) => ExchangeAnswer;
}
