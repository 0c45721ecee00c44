/**
 * The conformance suite's harness (conformance.ts): a session of the driver's module with
 * everything it did kept in order, and the small checks every guarantee's file shares.
 */
import type { CompiledPolicies } from '../../policy/engine.ts';
import { policySubject } from '../../policy/principal.ts';
import { CLOSE_KINDS, type CloseReason } from '../close-reason.ts';
import type { HeldRequest } from '../held-request.ts';
import type { AuditResult } from '../../audit/carried-results.ts';
import type {
  ProtocolConnection,
  ProtocolIo,
  ProtocolModule,
  ProtocolServices,
  ProtocolSession,
  ProtocolStart,
  TargetCredential,
} from '../protocol.ts';

export interface ConformanceDriver<C extends ProtocolConnection> {
  module: ProtocolModule<C>;
  start: ProtocolStart<C>;
  /** Permits `request`; holds `heldRequest` for approval. */
  policies: CompiledPolicies;
  credential: TargetCredential;
  /** What a client sends first (its startup, its version line). */
  clientHello: Uint8Array;
  /** Brings a new session to phase 'open' (the target's side of the login, through `h`). */
  open(h: Harness): void | Promise<void>;
  /** One whole client request the policy permits (the module decides it, then forwards it). */
  request: Uint8Array;
  /** One whole client request the policy holds for approval. */
  heldRequest: Uint8Array;
  /** Bytes no client of the protocol sends where a message starts; the same for the target. */
  clientGarbage: Uint8Array;
  targetGarbage: Uint8Array;
  /** About `bytes` of ordinary client traffic, in whole requests the policy permits. */
  flood(bytes: number): Uint8Array;
  /** Client bytes the module may hold (received, not forwarded) while the target is silent. */
  holdBound: number;
  /**
   * Leaves a new session in the middle of an asynchronous login step (a password hash, SCRAM's
   * key derivation): the client has spoken, the target asked for its proof.
   */
  midLogin(h: Harness): void;
  /** Runs of the hostile-bytes property (default 50). */
  propertyRuns?: number;
  /**
   * A protocol whose module works asynchronously (SSH: the library decrypts and answers on
   * promises) lets its session run until it has nothing left to do; the suite calls it after
   * each step before it looks. Absent: the module works synchronously.
   */
  settle?(h: Harness): Promise<void>;
  /**
   * Requests of the client the target received, as the target itself counts them: for a
   * protocol whose target-bound bytes are encrypted (SSH), what reached the target cannot be
   * read from them, and framing traffic (a channel closing) is not a request. Absent: the count
   * of `toTarget` calls.
   */
  reached?(h: Harness): number;
  /** The control plane's answer to a target host key learned on first use (default 'learned'). */
  learnTargetHostKey?: (key: string) => Promise<'learned' | 'matches' | 'mismatch'>;
  /** Opens the secrets the driver's connection carries sealed (an SSH gateway host key). */
  unseal?: (sealed: { keyId: string; ciphertext: string }, aad: string) => Promise<string>;
}

export class ConformanceError extends Error {
  override name = 'ConformanceError';
}

/** A session under test, with everything it did kept in order. */
export interface Harness {
  session: ProtocolSession;
  fromClient(bytes: Uint8Array): void;
  fromTarget(bytes: Uint8Array): void;
  /** Ordered: 'audit:<kind>', 'toClient', 'toTarget', 'held', 'end:<kind>'. */
  log: string[];
  /** The audit events written, in order, with their data. */
  audited: Array<{ kind: string; data: Record<string, unknown> }>;
  /** What audited requests came to (ProtocolServices.auditResult), in order. */
  results: AuditResult[];
  toTarget: Uint8Array[];
  toClient: Uint8Array[];
  ended: CloseReason[];
  held: HeldRequest[];
  /** Broken promises seen by the io (output after the end, a second end, a kind nobody knows). */
  violations: string[];
  /** Client bytes received minus bytes sent to the target. */
  holding(): number;
  /** Makes the audit log refuse every append from now on (storage full). */
  failAudit(): void;
  /** Listeners of what the module sends (a driver's in-process client and target). */
  taps: { client?: (bytes: Uint8Array) => void; target?: (bytes: Uint8Array) => void };
}

const KEY = { processId: 4242, secretKey: 1717 };

/**
 * A fresh session of the driver's module; not yet open. With `resume`, the session a stored
 * idle snapshot describes (PreparedProtocol.resume), as a woken object would have it.
 */
export async function harness<C extends ProtocolConnection>(
  d: ConformanceDriver<C>,
  resume?: { snapshot: unknown },
): Promise<Harness> {
  const log: string[] = [];
  const audited: Harness['audited'] = [];
  const results: Harness['results'] = [];
  const toTarget: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const ended: CloseReason[] = [];
  const held: HeldRequest[] = [];
  const violations: string[] = [];
  let auditFails = false;
  let received = 0;
  let forwarded = 0;
  const taps: Harness['taps'] = {};
  const services: ProtocolServices = {
    policies: d.policies,
    subject: policySubject(d.start.identity, d.start.connection.name),
    audit: (kind, data) => {
      if (auditFails) throw new Error('audit storage refused the event (conformance)');
      log.push(`audit:${kind}`);
      audited.push({ kind, data });
      return audited.length; // the event's seq
    },
    auditResult: (r) => void results.push(r),
    grants: () => [],
    coveredBySession: () => false,
    maskingSecret: 'conformance',
    now: () => 0,
    unseal: d.unseal ?? (() => Promise.reject(new Error('no sealed secrets in this driver'))),
    learnTargetHostKey: d.learnTargetHostKey ?? (async () => 'learned'),
  };
  const after = (what: string) => {
    if (ended.length > 0) violations.push(`${what} after the end (${ended[0]!.kind})`);
  };
  const prepared = await d.module.prepare(d.start, services);
  const io: ProtocolIo = {
    toClient: (b) => {
      after('toClient');
      log.push('toClient');
      toClient.push(b.slice());
      taps.client?.(b);
    },
    toTarget: (b) => {
      after('toTarget');
      log.push('toTarget');
      forwarded += b.byteLength;
      toTarget.push(b.slice());
      taps.target?.(b);
    },
    end: (r) => {
      after('end');
      if (!CLOSE_KINDS.includes(r.kind)) violations.push(`end with an unknown kind: ${String(r.kind)}`);
      log.push(`end:${r.kind}`);
      ended.push(r);
    },
    held: (r) => {
      after('held');
      log.push('held');
      held.push(r);
    },
  };
  if (resume && !prepared.resume) throw new ConformanceError('the module does not resume sessions');
  const session = resume ? prepared.resume!(io, KEY, resume.snapshot) : prepared.open(io, KEY);
  return {
    session,
    fromClient: (b) => {
      received += b.byteLength;
      session.clientData(b);
    },
    fromTarget: (b) => session.targetData(b),
    log,
    audited,
    results,
    toTarget,
    toClient,
    ended,
    held,
    violations,
    holding: () => received - forwarded,
    failAudit: () => (auditFails = true),
    taps,
  };
}

/** Lets an asynchronous module finish what it was doing (ConformanceDriver.settle). */
export async function settle<C extends ProtocolConnection>(
  d: ConformanceDriver<C>,
  h: Harness,
): Promise<void> {
  await d.settle?.(h);
}

/** Client requests the target received (ConformanceDriver.reached). */
export function reached<C extends ProtocolConnection>(d: ConformanceDriver<C>, h: Harness): number {
  return d.reached ? d.reached(h) : h.toTarget.length;
}

export function check(ok: boolean, what: string): void {
  if (!ok) throw new ConformanceError(what);
}

export function noViolations(h: Harness): void {
  check(h.violations.length === 0, `the io saw: ${h.violations.join('; ')}`);
}

export async function opened<C extends ProtocolConnection>(d: ConformanceDriver<C>): Promise<Harness> {
  const h = await harness(d);
  await d.open(h);
  // A login may take asynchronous steps (SCRAM, key derivation on Web Crypto).
  await new Promise((resolve) => setTimeout(resolve, 0));
  check(
    h.session.phase === 'open',
    `the driver's open() left the session ${h.session.phase}: ${h.log.join(', ')} ${JSON.stringify(h.ended)}`,
  );
  check(h.ended.length === 0, 'the session ended while opening');
  return h;
}

export function feedInChunks(h: Harness, bytes: Uint8Array, chunk: number, bound: number): void {
  for (let at = 0; at < bytes.length && h.ended.length === 0; at += chunk) {
    h.fromClient(bytes.subarray(at, at + chunk));
    check(
      h.ended.length > 0 || h.holding() <= bound,
      `holds ${h.holding()} client bytes while the target is silent (bound ${bound})`,
    );
  }
}

/** One guarantee, checked on a fresh session: throws a ConformanceError when it does not hold. */
export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
