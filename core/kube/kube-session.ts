/**
 * One Kubernetes session (kube-module.ts): its requests, the mux over its data channel, the one
 * request held for approval, and its end. Per request: read, decided, audited, then refused,
 * held or forwarded; its response passed, masked or refused (kube-response.ts, response-pump.ts)
 * and audited (kube-exchange.ts). What it holds at once, and for how long, is bounded by
 * session-limits.ts.
 */
import type { CloseReason } from '../session-host/close-reason.ts';
import type { SessionNotice } from '../session-host/held-request.ts';
import type {
  ProtocolIo,
  ProtocolPhase,
  ProtocolServices,
  ProtocolSession,
  SessionStats,
  TargetCredential,
} from '../session-host/protocol.ts';
import type {
  Exchange,
  ExchangeReply,
  ExchangeRequest,
  RequestExchanges,
} from '../session-host/request-exchange.ts';
import { INITIAL_WINDOW, MAX_STREAMS, MuxSide, type StreamEnd } from '../tunnel/http-mux/mux-side.ts';
import type { ResponseHead } from '../tunnel/http-mux/heads.ts';
import { upstreamHeaders, type KubeCaller, type KubeCredential } from './headers.ts';
import { KubeExchangeEnds, type KubeExchange as Ex } from './kube-exchange.ts';
import { KubeGate, type KubeApprovalTicket, type KubeTarget } from './kube-gate.ts';
import { KubeResponse } from './kube-response.ts';
import { upstreamAccept } from './mask/content-type.ts';
import { KubeObjectMasker, type KubeMaskOptions } from './mask/object-masker.ts';
import { refusalStatus } from './refusal.ts';
import { header, heldApproval, requestAuditFields } from './request-record.ts';
import { readRequest } from './request.ts';
import { KubeResponsePump } from './response-pump.ts';
import { sessionEndStatus } from './session-end-status.ts';
import { KubeStreamSession } from './stream/stream-session.ts';
import { LOG_IDLE_MS } from './stream/text-stream.ts';
import { expiryAt } from './token-expiry.ts';
import { internalError, serviceUnavailable, tooManyRequests } from './status.ts';
import {
  EXEC_IDLE_MS,
  MAX_BODY_BYTES_IN_FLIGHT,
  MAX_WAITING_REQUESTS,
  RESPONSE_HEAD_DEADLINE_MS,
  WHOLE_BODY_WINDOW,
} from './session-limits.ts';

export interface Settings {
  connection: string;
  /** The token's expiry (epoch seconds): the session ends then (token-expiry.ts). */
  exp: number;
  impersonate: boolean;
  caller: KubeCaller;
  streams: ConstructorParameters<typeof KubeStreamSession>[0];
}

export class KubeProtocolSession implements ProtocolSession {
  #phase: ProtocolPhase = 'starting';
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, statements: 0 };
  readonly #mux: MuxSide;
  readonly #streams = new Map<number, Ex>();
  #waiting: Ex[] = [];
  #held: Ex | undefined;
  #heldTicket: KubeApprovalTicket | undefined;
  #bodyBytes = 0;
  #credential: KubeCredential = { kind: 'client-certificate' };
  #ended = false;
  /** Answers, cuts and finishes requests; counts those under way and what was masked. */
  readonly #ends: KubeExchangeEnds;
  /** Carries a forwarded request's response to its client. */
  readonly #pump: KubeResponsePump;
  /** Exec/attach reading and recording, logs masking (core/kube/stream/). */
  readonly #streamParts: KubeStreamSession;
  readonly requests: RequestExchanges;

  constructor(
    private readonly settings: Settings,
    private readonly gate: KubeGate,
    private readonly maskOptions: KubeMaskOptions,
    private readonly services: ProtocolServices,
    private readonly io: ProtocolIo,
  ) {
    this.#mux = new MuxSide('opener', {
      send: (bytes) => this.io.toTarget(bytes),
      onHead: (id, head) => this.#onHead(id, head),
      onData: (id, bytes, cost) => this.#onData(id, bytes, cost),
      onMessage: (id, binary, payload, cost) => this.#onMessage(id, binary, payload, cost),
      onEnd: (id) => this.#onEnd(id),
      onClosed: (id, end) => this.#onClosed(id, end),
      onChannelError: (message) => this.fail({ kind: 'target-protocol', detail: `mux: ${message}` }),
    });
    this.#ends = new KubeExchangeEnds(this.stats, services, maskOptions);
    this.#pump = new KubeResponsePump(this.#mux, this.stats, this.#ends);
    this.requests = {
      open: (req, reply) => this.#open(req, reply),
      active: () => this.#ends.active,
    };
    this.#streamParts = new KubeStreamSession(settings.streams, services, (e) =>
      this.fail({ kind: 'gateway-error', detail: `recording not written: ${e.message}` }),
    );
  }

  get phase(): ProtocolPhase {
    return this.#phase;
  }

  // ---- the host's side ---------------------------------------------------------------------

  clientData(): void {
    this.fail({ kind: 'client-protocol', detail: 'a Kubernetes session has no client byte stream' });
  }

  clientClosed(): void {
    // No client socket: each request's client is its own exchange.
  }

  targetOpen(credential: TargetCredential): void {
    if (this.#phase !== 'starting') return;
    // A sealed bearer token is sent by the edge as a header; a client certificate (sealed: sent
    // to the connector by the host on the channel) or a connector-held credential stays below.
    if (credential.kind === 'bearer_token' && credential.secret !== '')
      this.#credential = { kind: 'bearer', token: credential.secret.trim() };
    if (credential.kind === 'client_certificate' && credential.secret !== '')
      this.io.channelMessage?.(JSON.stringify({ type: 'channel-credential', credential: credential.secret }));
    this.#phase = 'open';
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const ex of waiting) this.#forward(ex);
  }

  targetData(bytes: Uint8Array): void {
    this.#mux.receive(bytes);
  }

  targetClosed(): void {
    this.fail({ kind: 'target-closed' });
  }

  fail(reason: CloseReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#phase = 'closed';
    const status = sessionEndStatus(reason);
    const expired = reason.kind === 'access-ended' && this.services.now() >= expiryAt(this.settings.exp);
    for (const ex of this.#all()) {
      if (!(expired && this.#ends.endExpired(ex, this.settings.exp)))
        this.#ends.cut(ex, status, `session ended: ${reason.kind}`);
    }
    this.#streamParts.finishAll();
    this.#held = undefined;
    this.#waiting = [];
    this.#mux.closeAll('session ended');
    this.io.end(reason);
  }

  resolveHeld(approved: boolean, message: string): void {
    const ex = this.#held;
    const ticket = this.#heldTicket;
    this.#held = undefined;
    this.#heldTicket = undefined;
    if (!ex || ex.finished) return;
    if (!approved) {
      const kind = /timed out|expired/i.test(message) ? 'approval-expired' : 'approval-denied';
      return this.#ends.refuse(ex, {
        kind,
        target: ex.target,
        message: `${ticket?.text ?? 'the request'}: ${message}`,
      });
    }
    if (ex.cancelled) return this.#ends.finish(ex); // approved after the client left: not forwarded
    this.#forward(ex);
  }

  revalidate(): void {
    // Nothing is cached: every request is decided afresh with the grants valid now.
  }

  notice(_n: SessionNotice): void {
    // kubectl cannot show anything while a request waits; the approval hint is in the audit
    // trail and the webhooks, and the refusal or the answer ends the wait.
  }

  closeDetails(): Record<string, unknown> {
    return { masked: this.#ends.masked, ...this.#streamParts.details };
  }

  // ---- one request ---------------------------------------------------------------------------

  #open(req: ExchangeRequest, reply: ExchangeReply): Exchange {
    const n = ++this.stats.statements;
    this.stats.bytesFromClient += req.body.byteLength;
    const kube = readRequest(req.method, req.path, req.query);
    const none: KubeTarget = { group: '', resource: '', name: '' };
    const target =
      kube.kind === 'resource' ? { group: kube.apiGroup, resource: kube.resource, name: kube.name } : none;
    const ex: Ex = { n, req, reply, kube, target, finished: false, cancelled: false };
    this.#ends.active++;
    const handle: Exchange = {
      message: (binary, payload) => {
        if (ex.stream === undefined || ex.finished) return;
        // An exec or attach forwards only what it reads (stream/exec-stream.ts).
        if (ex.exec && !ex.exec.fromClient(payload)) return;
        this.#mux.message(ex.stream, binary, payload);
      },
      cancel: () => {
        ex.cancelled = true;
        ex.exec?.finish();
        if (ex.stream !== undefined) this.#mux.reset(ex.stream, 'cancel', 'the client went away');
        if (ex === this.#held) return; // stays until the approvers decide; never forwarded then
        this.#ends.finish(ex);
      },
    };
    if (this.#ended) {
      this.#ends.answer(ex, serviceUnavailable('the Postern session ended; retry'));
      return handle;
    }
    this.#decide(ex);
    return handle;
  }

  #decide(ex: Ex): void {
    const { kube, req } = ex;
    const verdict = this.gate.decide(kube);
    let heldCovered = false;
    if (
      verdict.effect === 'hold' &&
      this.services.coveredBySession(heldApproval(verdict.ticket, this.settings.connection))
    )
      heldCovered = true;
    const outcome = heldCovered ? 'allow' : verdict.audit.outcome;
    const fields = requestAuditFields(
      ex.n,
      req,
      kube,
      verdict.audit,
      outcome,
      heldCovered,
      this.maskOptions.values,
    );
    try {
      this.services.audit('kube_request', fields, outcome);
    } catch {
      return this.#ends.answer(ex, internalError('Postern could not record the request in its audit trail'));
    }
    if (verdict.effect === 'deny') {
      if (kube.kind === 'refused') return this.#ends.refuse(ex, { kind: 'request', request: kube });
      return this.#ends.refuse(ex, { kind: 'policy', target: verdict.target, message: verdict.message });
    }
    if (verdict.effect === 'hold' && !heldCovered) {
      if (this.#held)
        return this.#ends.answer(
          ex,
          tooManyRequests('another request of this session waits for approval', 5),
        );
      this.#held = ex;
      this.#heldTicket = verdict.ticket;
      const t = verdict.ticket;
      this.io.held({
        text: t.text,
        fingerprint: t.fingerprint,
        action: t.action,
        approval: heldApproval(t, this.settings.connection),
      });
      return;
    }
    this.#forward(ex);
  }

  #forward(ex: Ex): void {
    if (ex.finished || this.#ended) return;
    if (this.#phase === 'starting' || this.#mux.openStreams >= MAX_STREAMS) {
      if (this.#waiting.length >= MAX_WAITING_REQUESTS)
        return this.#ends.answer(ex, tooManyRequests('too many requests of this session at once', 1));
      this.#waiting.push(ex);
      return;
    }
    const { req, kube } = ex;
    if (this.#bodyBytes + req.body.byteLength > MAX_BODY_BYTES_IN_FLIGHT)
      return this.#ends.answer(ex, tooManyRequests('too many request bytes of this session at once', 1));
    const headers = upstreamHeaders(req.headers, this.settings.caller, this.#credential, {
      impersonate: this.settings.impersonate,
    });
    if (!headers.ok)
      return this.#ends.answer(ex, internalError(`Postern cannot forward the request: ${headers.why}`));
    const accept = upstreamAccept(kube, header(req.headers, 'accept'));
    const list = headers.headers;
    if (accept !== undefined) list.push(['accept', accept]);
    // Only the subprotocols Postern reads go upstream (stream/subprotocols.ts); a bearer token
    // in a subprotocol (base64url.bearer.authorization.k8s.io.) is never one of them.
    const offer = req.upgrade ? this.#streamParts.upgrade(kube, req.upgrade.protocols) : undefined;
    if (offer && 'refuse' in offer)
      return this.#ends.refuse(ex, {
        kind: 'request',
        request: { kind: 'refused', status: 'bad-request', why: offer.refuse },
      });
    const upgrade = offer ? { protocols: offer.offer } : undefined;
    const path = req.query === '' ? req.path : `${req.path}?${req.query}`;
    const id = this.#mux.open({ method: req.method, path, headers: list, ...(upgrade ? { upgrade } : {}) });
    if (id === undefined)
      return this.#ends.answer(ex, serviceUnavailable('the channel to the cluster is closed'));
    ex.stream = id;
    ex.deadline = setTimeout(() => {
      if (ex.finished || ex.response?.headSent) return;
      this.#ends.cut(ex, refusalStatus({ kind: 'cluster-timeout' }), 'no response head in time');
      this.#mux.reset(id, 'cancel', 'no response in time');
    }, RESPONSE_HEAD_DEADLINE_MS);
    ex.response = new KubeResponse(
      kube,
      this.maskOptions,
      kube.kind === 'resource' ? KubeObjectMasker.kindOf(kube.apiGroup, kube.resource) : undefined,
    );
    ex.response.text = this.#streamParts.textFilter();
    this.#streams.set(id, ex);
    if (req.body.byteLength > 0) {
      this.#bodyBytes += req.body.byteLength;
      this.#mux.write(id, req.body);
    }
    if (!upgrade) this.#mux.end(id);
  }

  // ---- the mux's side ------------------------------------------------------------------------

  #onHead(id: number, head: ResponseHead): void {
    const ex = this.#streams.get(id);
    if (!ex?.response) return;
    if (head.status === 101 && ex.req.upgrade) {
      const reader = this.#streamParts.accepted(id, ex.kube, head.protocol);
      if (reader && 'refuse' in reader) {
        this.#mux.reset(id, 'cancel', 'refused by the gateway');
        return this.#ends.cut(ex, refusalStatus({ kind: 'unmaskable', why: reader.refuse }), reader.refuse);
      }
      if (reader) ex.exec = reader;
    }
    this.#pump.apply(ex, id, ex.response.head(head));
    if (ex.response.mode === 'json' && !ex.finished) this.#mux.widen(id, WHOLE_BODY_WINDOW - INITIAL_WINDOW);
  }

  #onData(id: number, bytes: Uint8Array, cost: number): void {
    const ex = this.#streams.get(id);
    if (!ex?.response || ex.finished) return this.#mux.consumed(id, cost);
    this.#pump.apply(ex, id, ex.response.data(bytes, cost));
    if (ex.response.text) this.#pump.idleLater(ex, LOG_IDLE_MS);
  }

  #onMessage(id: number, binary: boolean, payload: Uint8Array, cost: number): void {
    const ex = this.#streams.get(id);
    if (!ex || ex.finished) return this.#mux.consumed(id, cost);
    if (!ex.exec) {
      this.stats.bytesToClient += payload.byteLength;
      return ex.reply.message(binary, payload, () => this.#mux.consumed(id, cost));
    }
    // Masked output, re-cut: credit goes back once the last message it made was sent.
    const out = ex.exec.fromServer(payload);
    this.#pump.sendExec(ex, out, () => this.#mux.consumed(id, cost));
    this.#pump.idleLater(ex, EXEC_IDLE_MS);
  }

  #onEnd(id: number): void {
    const ex = this.#streams.get(id);
    if (!ex?.response || ex.finished) return;
    if (ex.req.upgrade && ex.response.status === 101) {
      // The API server closed the socket: what the exec's maskers held, then close the
      // client's, and our half of the stream last: ending it closes the stream (both halves
      // ended), and #onClosed would cut an exchange not yet finished (1011 to the client).
      if (ex.exec) this.#pump.sendExec(ex, ex.exec.finish());
      ex.reply.end();
      this.#ends.finish(ex);
      return this.#mux.end(id);
    }
    this.#pump.apply(ex, id, ex.response.end());
  }

  #onClosed(id: number, end: StreamEnd): void {
    const ex = this.#streams.get(id);
    this.#streams.delete(id);
    if (ex) {
      this.#bodyBytes -= ex.req.body.byteLength;
      if (!ex.finished) {
        const why = end.reset ? `stream reset (${end.reason})` : 'stream ended';
        this.#ends.cut(ex, refusalStatus({ kind: 'cluster-unreachable' }), why);
      }
    }
    // A stream is free: the first waiting request takes it.
    const next = this.#waiting.shift();
    if (next) this.#forward(next);
  }

  *#all(): Iterable<Ex> {
    yield* [...this.#streams.values()];
    yield* this.#waiting;
    if (this.#held) yield this.#held;
  }
}
