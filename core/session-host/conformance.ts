/**
 * The conformance suite every protocol module passes (issue 11 §2, style.md #16): it fails
 * closed when it loses track of its protocol, audits before it forwards, bounds what it holds,
 * ends once with a reason and sends nothing after, and never throws on hostile bytes. The suite
 * knows no protocol: a driver says how to reach the open phase, what a decided request, a held
 * one and garbage look like. Framework-free: each check throws a ConformanceError; a test file
 * runs the checks (core/pg-session/postgres-module.test.ts).
 */
import fc from 'fast-check';
import type { CompiledPolicies } from '../policy/engine.ts';
import { policySubject } from '../policy/principal.ts';
import { CLOSE_KINDS, isFailure, type CloseReason } from './close-reason.ts';
import type { HeldRequest } from './held-request.ts';
import type {
  ProtocolConnection,
  ProtocolModule,
  ProtocolServices,
  ProtocolSession,
  ProtocolStart,
  TargetCredential,
} from './protocol.ts';

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

/** A fresh session of the driver's module; not yet open. */
export async function harness<C extends ProtocolConnection>(d: ConformanceDriver<C>): Promise<Harness> {
  const log: string[] = [];
  const audited: Harness['audited'] = [];
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
    },
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
  const session = prepared.open(
    {
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
    },
    KEY,
  );
  return {
    session,
    fromClient: (b) => {
      received += b.byteLength;
      session.clientData(b);
    },
    fromTarget: (b) => session.targetData(b),
    log,
    audited,
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
async function settle<C extends ProtocolConnection>(d: ConformanceDriver<C>, h: Harness): Promise<void> {
  await d.settle?.(h);
}

/** Client requests the target received (ConformanceDriver.reached). */
function reached<C extends ProtocolConnection>(d: ConformanceDriver<C>, h: Harness): number {
  return d.reached ? d.reached(h) : h.toTarget.length;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new ConformanceError(what);
}

function noViolations(h: Harness): void {
  check(h.violations.length === 0, `the io saw: ${h.violations.join('; ')}`);
}

async function opened<C extends ProtocolConnection>(d: ConformanceDriver<C>): Promise<Harness> {
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

function feedInChunks(h: Harness, bytes: Uint8Array, chunk: number, bound: number): void {
  for (let at = 0; at < bytes.length && h.ended.length === 0; at += chunk) {
    h.fromClient(bytes.subarray(at, at + chunk));
    check(
      h.ended.length > 0 || h.holding() <= bound,
      `holds ${h.holding()} client bytes while the target is silent (bound ${bound})`,
    );
  }
}

export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
}

export function conformanceChecks<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  return [
    {
      name: 'fails closed on client garbage mid-stream: ends with a failure, forwards nothing more',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(concat(d.clientGarbage, d.request));
        await settle(d, h);
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          'garbage from the client did not end the session',
        );
        check(reached(d, h) === sent, 'bytes reached the target after the client lost track');
        h.fromClient(d.request);
        h.fromTarget(d.request);
        await settle(d, h);
        noViolations(h);
      },
    },
    {
      name: 'fails closed on target garbage mid-stream: ends with a failure, sends nothing after',
      run: async () => {
        const h = await opened(d);
        h.fromTarget(d.targetGarbage);
        await settle(d, h);
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          `garbage from the target did not end the session with a failure: ${JSON.stringify(h.ended)}`,
        );
        h.fromClient(d.request);
        h.fromTarget(d.targetGarbage);
        await settle(d, h);
        noViolations(h);
      },
    },
    {
      name: 'audits a decided request before a byte of it is forwarded',
      run: async () => {
        const h = await opened(d);
        const mark = h.log.length;
        h.fromClient(d.request);
        await settle(d, h);
        const rest = h.log.slice(mark);
        const forwardAt = rest.indexOf('toTarget');
        check(forwardAt >= 0, 'the permitted request was not forwarded (the check would prove nothing)');
        check(
          rest.slice(0, forwardAt).some((e) => e.startsWith('audit:')),
          `forwarded before any audit event: ${rest.join(', ')}`,
        );
        noViolations(h);
      },
    },
    {
      name: 'forwards nothing of a request the audit log could not record',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.failAudit();
        h.fromClient(d.request);
        await settle(d, h);
        check(reached(d, h) === sent, 'a request reached the target without its audit event');
        noViolations(h);
      },
    },
    {
      name: 'forwards a held request only once approved, and once',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(d.heldRequest);
        await settle(d, h);
        check(h.held.length === 1, 'the request was not held');
        check(reached(d, h) === sent, 'a held request reached the target before approval');
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) > sent, 'the approved request was not forwarded');
        const afterApproval = reached(d, h);
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) === afterApproval, 'a second approval forwarded it again');
        noViolations(h);
      },
    },
    {
      name: 'never forwards a held request that was refused',
      run: async () => {
        const h = await opened(d);
        const sent = reached(d, h);
        h.fromClient(d.heldRequest);
        await settle(d, h);
        h.session.resolveHeld(false, 'refused by the conformance suite');
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(reached(d, h) === sent, 'a refused request reached the target');
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds before the target is open',
      run: async () => {
        const h = await harness(d);
        h.fromClient(d.clientHello);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound);
        await settle(d, h);
        check(
          h.ended.length === 1,
          'more than the bound was sent and the session neither forwarded nor ended',
        );
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds behind a held request while the target is silent',
      run: async () => {
        const h = await opened(d);
        h.fromClient(d.heldRequest);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound + d.heldRequest.length);
        await settle(d, h);
        check(
          h.ended.length === 1,
          'more than the bound was sent and the session neither forwarded nor ended',
        );
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds while open and the target is silent',
      run: async () => {
        const h = await opened(d);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound);
        noViolations(h);
      },
    },
    ...outsideEnds(d),
    {
      name: 'sends nothing after the end, even from a login step that was still running',
      run: async () => {
        const h = await harness(d);
        d.midLogin(h);
        h.session.clientClosed();
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        // Let the login step settle (microtasks, Web Crypto), then look.
        await new Promise((resolve) => setTimeout(resolve, 50));
        noViolations(h);
      },
    },
    {
      name: 'never throws on hostile bytes, whatever the chunking, and ends at most once',
      run: async () => {
        const chunks = fc.array(
          fc.record({
            target: fc.boolean(),
            bytes: fc.oneof(
              fc.uint8Array({ maxLength: 64 }),
              fc.constant(d.request),
              fc.constant(d.clientGarbage),
              fc.constant(d.targetGarbage),
            ),
            split: fc.nat({ max: 64 }),
          }),
          { maxLength: 12 },
        );
        await fc.assert(
          fc.asyncProperty(fc.boolean(), chunks, async (open, ops) => {
            const h = open ? await opened(d) : await harness(d);
            if (!open) h.fromClient(d.clientHello);
            for (const op of ops) {
              const feed = op.target ? h.fromTarget : h.fromClient;
              const cut = Math.min(op.split, op.bytes.length);
              feed(op.bytes.subarray(0, cut));
              feed(op.bytes.subarray(cut));
            }
            h.session.clientClosed();
            await settle(d, h);
            check(h.ended.length === 1, `ended ${h.ended.length} times`);
            noViolations(h);
          }),
          { numRuns: d.propertyRuns ?? 50 },
        );
      },
    },
  ];
}

/** Every way the host ends a session from outside: once, with a kind, nothing sent after. */
function outsideEnds<C extends ProtocolConnection>(d: ConformanceDriver<C>): ConformanceCheck[] {
  const ways: Array<[string, (s: ProtocolSession) => void]> = [
    ['the client closes', (s) => s.clientClosed()],
    ['the target closes', (s) => s.targetClosed()],
    ['the channel times out', (s) => s.fail({ kind: 'channel-timeout' })],
    ['access ends', (s) => s.fail({ kind: 'access-ended', forClient: 'your grant expired' })],
    ['the gateway fails', (s) => s.fail({ kind: 'gateway-error', detail: 'conformance' })],
  ];
  return ways.flatMap(([how, end]) =>
    (['starting', 'open'] as const).map((phase) => ({
      name: `ends once with a reason when ${how} (${phase}), and sends nothing after`,
      run: async () => {
        const h = phase === 'open' ? await opened(d) : await harness(d);
        // A module may wait for the client's first message to answer in the form it expects.
        if (phase === 'starting') h.fromClient(d.clientHello);
        end(h.session);
        await settle(d, h);
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        check(h.session.phase === 'closed', `phase is ${h.session.phase} after the end`);
        end(h.session);
        h.session.clientClosed();
        h.fromClient(d.request);
        h.fromTarget(d.request);
        h.session.notice({ message: 'after the end' });
        h.session.resolveHeld(true, '');
        await settle(d, h);
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        noViolations(h);
      },
    })),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
