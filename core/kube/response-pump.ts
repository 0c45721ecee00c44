/**
 * A forwarded request's response on its way to the client: the steps KubeResponse decides
 * (kube-response.ts) carried out on the exchange, an exec's masked messages sent, and what a
 * masker holds let out after a quiet time. Stream credit goes back to the mux once sent.
 */
import type { SessionStats } from '../session-host/protocol.ts';
import type { MuxSide } from '../tunnel/http-mux/mux-side.ts';
import type { KubeExchange, KubeExchangeEnds } from './kube-exchange.ts';
import type { ResponseStep } from './kube-response.ts';
import { refusalStatus } from './refusal.ts';

export class KubeResponsePump {
  constructor(
    private readonly mux: MuxSide,
    private readonly stats: SessionStats,
    private readonly ends: KubeExchangeEnds,
  ) {}

  /** Sends an exec's messages; `done` (the stream's credit back) once the last was sent. */
  sendExec(ex: KubeExchange, messages: Uint8Array[], done: () => void = () => undefined): void {
    if (messages.length === 0) return done();
    messages.forEach((m, i) => {
      this.stats.bytesToClient += m.byteLength;
      ex.reply.message(true, m, i === messages.length - 1 ? done : () => undefined);
    });
  }

  /** Lets out what a masker held, after `ms` of quiet (an exec's output, a followed log). */
  idleLater(ex: KubeExchange, ms: number): void {
    if (ex.idle !== undefined) clearTimeout(ex.idle);
    ex.idle = undefined;
    const held = ex.exec ? ex.exec.held : (ex.response?.text?.held ?? 0);
    if (held === 0 || ex.finished) return;
    ex.idle = setTimeout(() => {
      ex.idle = undefined;
      if (ex.finished || ex.stream === undefined) return;
      if (ex.exec) this.sendExec(ex, ex.exec.idle());
      else if (ex.response) this.apply(ex, ex.stream, ex.response.idle());
    }, ms);
  }

  /** Carries out a response's steps on stream `id` until the exchange finishes. */
  apply(ex: KubeExchange, id: number, steps: ResponseStep[]): void {
    for (const s of steps) {
      if (ex.finished) return;
      switch (s.kind) {
        case 'head':
          ex.reply.head(s.status, s.headers, s.protocol);
          break;
        case 'data':
          if (s.bytes.byteLength === 0) {
            if (s.cost > 0) this.mux.consumed(id, s.cost);
            break;
          }
          this.stats.bytesToClient += s.bytes.byteLength;
          ex.reply.data(s.bytes, () => s.cost > 0 && this.mux.consumed(id, s.cost));
          break;
        case 'end':
          ex.reply.end();
          this.ends.finish(ex);
          break;
        case 'refuse':
          this.ends.cut(ex, refusalStatus({ kind: 'unmaskable', why: s.why }), s.why);
          this.mux.reset(id, 'cancel', 'refused by the gateway');
          break;
      }
    }
  }
}
