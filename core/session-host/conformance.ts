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
}

const KEY = { processId: 4242, secretKey: 1717 };

/** A fresh session of the driver's module; not yet open. */
export async function harness<C extends ProtocolConnection>(d: ConformanceDriver<C>): Promise<Harness> {
  const log: string[] = [];
  const toTarget: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const ended: CloseReason[] = [];
  const held: HeldRequest[] = [];
  const violations: string[] = [];
  let auditFails = false;
  let received = 0;
  let forwarded = 0;
  const services: ProtocolServices = {
    policies: d.policies,
    subject: policySubject(d.start.identity, d.start.connection.name),
    audit: (kind) => {
      if (auditFails) throw new Error('audit storage refused the event (conformance)');
      log.push(`audit:${kind}`);
    },
    grants: () => [],
    coveredBySession: () => false,
    maskingSecret: 'conformance',
    now: () => 0,
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
      },
      toTarget: (b) => {
        after('toTarget');
        log.push('toTarget');
        forwarded += b.byteLength;
        toTarget.push(b.slice());
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
    toTarget,
    toClient,
    ended,
    held,
    violations,
    holding: () => received - forwarded,
    failAudit: () => (auditFails = true),
  };
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
        const sent = h.toTarget.length;
        h.fromClient(concat(d.clientGarbage, d.request));
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          'garbage from the client did not end the session',
        );
        check(h.toTarget.length === sent, 'bytes reached the target after the client lost track');
        h.fromClient(d.request);
        h.fromTarget(d.request);
        noViolations(h);
      },
    },
    {
      name: 'fails closed on target garbage mid-stream: ends with a failure, sends nothing after',
      run: async () => {
        const h = await opened(d);
        h.fromTarget(d.targetGarbage);
        check(
          h.ended.length === 1 && isFailure(h.ended[0]!),
          'garbage from the target did not end the session',
        );
        h.fromClient(d.request);
        h.fromTarget(d.targetGarbage);
        noViolations(h);
      },
    },
    {
      name: 'audits a decided request before a byte of it is forwarded',
      run: async () => {
        const h = await opened(d);
        const mark = h.log.length;
        h.fromClient(d.request);
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
        const sent = h.toTarget.length;
        h.failAudit();
        h.fromClient(d.request);
        check(h.toTarget.length === sent, 'a request reached the target without its audit event');
        noViolations(h);
      },
    },
    {
      name: 'forwards a held request only once approved, and once',
      run: async () => {
        const h = await opened(d);
        const sent = h.toTarget.length;
        h.fromClient(d.heldRequest);
        check(h.held.length === 1, 'the request was not held');
        check(h.toTarget.length === sent, 'a held request reached the target before approval');
        h.session.resolveHeld(true, '');
        check(h.toTarget.length > sent, 'the approved request was not forwarded');
        const afterApproval = h.toTarget.length;
        h.session.resolveHeld(true, '');
        check(h.toTarget.length === afterApproval, 'a second approval forwarded it again');
        noViolations(h);
      },
    },
    {
      name: 'never forwards a held request that was refused',
      run: async () => {
        const h = await opened(d);
        const sent = h.toTarget.length;
        h.fromClient(d.heldRequest);
        h.session.resolveHeld(false, 'refused by the conformance suite');
        h.session.resolveHeld(true, '');
        check(h.toTarget.length === sent, 'a refused request reached the target');
        noViolations(h);
      },
    },
    {
      name: 'bounds what it holds before the target is open',
      run: async () => {
        const h = await harness(d);
        h.fromClient(d.clientHello);
        feedInChunks(h, d.flood(4 * d.holdBound), 64 * 1024, d.holdBound);
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
        check(h.ended.length === 1, `ended ${h.ended.length} times`);
        check(h.session.phase === 'closed', `phase is ${h.session.phase} after the end`);
        end(h.session);
        h.session.clientClosed();
        h.fromClient(d.request);
        h.fromTarget(d.request);
        h.session.notice({ message: 'after the end' });
        h.session.resolveHeld(true, '');
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
