/**
 * One request of a Kubernetes session and how it ends: a Status before any head went out, a cut
 * response after, the end of a watch or exec when the token expires, and the `kube_response`
 * event every request gets exactly once (when it finishes).
 */
import type { ExchangeReply, ExchangeRequest } from '../session-host/request-exchange.ts';
import type { ProtocolServices, SessionStats } from '../session-host/protocol.ts';
import type { KubeTarget } from './kube-gate.ts';
import { KubeResponse } from './kube-response.ts';
import type { KubeMaskOptions } from './mask/object-masker.ts';
import { refusalStatus, type KubeRefusal } from './refusal.ts';
import type { KubeRequest } from './request.ts';
import type { ExecStream } from './stream/exec-stream.ts';
import { statusResponse, type KubeStatus } from './status.ts';
import { expiringStream, expiryEnding } from './token-expiry.ts';

/** One request of the session, from the host's open() to its end. */
export interface KubeExchange {
  n: number;
  req: ExchangeRequest;
  reply: ExchangeReply;
  kube: KubeRequest;
  target: KubeTarget;
  stream?: number;
  response?: KubeResponse;
  /** An accepted exec or attach: its messages both ways go through it (stream/exec-stream.ts). */
  exec?: ExecStream;
  /** When the masker of an exec or text response lets out what it holds. */
  idle?: ReturnType<typeof setTimeout>;
  /** Ends the request if its response head has not gone out in time (kube-session.ts). */
  deadline?: ReturnType<typeof setTimeout>;
  finished: boolean;
  cancelled: boolean;
}

/** Ends the session's requests; counts those under way and what their responses masked. */
export class KubeExchangeEnds {
  /** Requests opened and not yet finished. */
  active = 0;
  /** What the session's responses masked, by kind (the session's close details). */
  readonly masked: Partial<Record<string, number>> = {};

  constructor(
    private readonly stats: SessionStats,
    private readonly services: ProtocolServices,
    private readonly maskOptions: KubeMaskOptions,
  ) {}

  refuse(ex: KubeExchange, r: KubeRefusal): void {
    this.answer(ex, refusalStatus(r));
  }

  /** Answers with a Status before any response head went out. */
  answer(ex: KubeExchange, status: KubeStatus): void {
    if (ex.finished) return;
    const r = statusResponse(status);
    ex.reply.head(r.code, Object.entries(r.headers));
    const body = new TextEncoder().encode(r.body);
    this.stats.bytesToClient += body.byteLength;
    ex.reply.data(body, () => undefined);
    ex.reply.end();
    if (!ex.response) {
      ex.response = new KubeResponse(ex.kube, this.maskOptions, undefined);
    }
    ex.response.status = r.code;
    ex.response.bytes = body.byteLength;
    this.finish(ex);
  }

  /** Ends a request that cannot go on: a Status if nothing was sent yet, else the response is cut. */
  cut(ex: KubeExchange, status: KubeStatus, why: string): void {
    if (ex.finished) return;
    if (ex.response?.headSent) {
      ex.response.refused ??= why;
      ex.reply.abort(why);
      return this.finish(ex);
    }
    this.answer(ex, status);
  }

  /**
   * The token expired (`exp`, epoch seconds): a watch or an exec/attach under way ends as the
   * client shows it (token-expiry.ts); false for the others (cut as any end of the session cuts them).
   */
  endExpired(ex: KubeExchange, exp: number): boolean {
    if (ex.finished || !ex.response?.headSent) return false;
    const ending = expiryEnding(expiringStream(ex.kube, ex.response.mode), exp);
    if (ending.end === 'watch') {
      ex.reply.data(ending.last, () => undefined);
      ex.reply.end();
    } else if (ending.end === 'remote-command' && ex.exec) {
      for (const m of ex.exec.end(ending.message)) ex.reply.message(true, m, () => undefined);
      ex.reply.end();
    } else if (ending.end === 'close') ex.reply.end();
    else return false;
    ex.response.refused ??= 'the token expired';
    this.finish(ex);
    return true;
  }

  finish(ex: KubeExchange): void {
    if (ex.finished) return;
    ex.finished = true;
    if (ex.idle !== undefined) clearTimeout(ex.idle);
    if (ex.deadline !== undefined) clearTimeout(ex.deadline);
    ex.exec?.finish();
    this.active--;
    const r = ex.response;
    if (r) for (const k in r.counts) this.masked[k] = (this.masked[k] ?? 0) + (r.counts[k] ?? 0);
    try {
      this.services.audit(
        'kube_response',
        {
          request: ex.n,
          status: r?.status ?? 0,
          bytes: r?.bytes ?? 0,
          ...(r && Object.keys(r.counts).length > 0 ? { masked: r.counts } : {}),
          ...(r?.refused ? { refused: r.refused } : {}),
          ...(ex.cancelled ? { cancelled: true } : {}),
        },
        null,
      );
    } catch {
      // The request was recorded before it was forwarded; its end not being recorded is logged by the host.
    }
  }
}
