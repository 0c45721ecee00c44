/**
 * One session's data channel: target socket ⇄ WebSocket to the session's Durable Object.
 * Binary frames are target bytes; the only text frames are the hello/error we send first and
 * cancel requests from the edge. A Kubernetes channel carries the HTTP stream mux instead
 * (connector/http-streams.ts): many requests to the API server over this one channel.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { ChannelError, ChannelHello, DialRequest } from '../core/tunnel/protocol.ts';
import { parseChannelCredential, parseChannelFromEdge } from '../core/tunnel/protocol.ts';
import { cancelRequest } from '../core/pg/messages.ts';
import { pumpWsTcp } from '../node-shared/ws-tcp-pump.ts';
import { isAllowed, type Rule } from './allowlist.ts';
import { resolveCredential } from './credentials.ts';
import { caOption, openTarget, TargetError } from './target.ts';
import { serveHttpStreams, upstreamAuthOf, type HttpStreams } from './http-streams.ts';
import type { Log } from './log.ts';

export interface ChannelOptions {
  edgeUrl: string;
  rules: Rule[];
  caFile?: string;
  log: Log;
}

export function channelUrl(edgeUrl: string, sessionId: string): string {
  const u = new URL(`/v1/channel/${sessionId}`, edgeUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/** Opens the channel for a dial request; resolves when it has ended. */
export async function runDataChannel(
  dial: DialRequest,
  opts: ChannelOptions,
  track: (close: () => void) => () => void,
): Promise<void> {
  const fields = { session: dial.sessionId.slice(0, 12), target: `${dial.target.host}:${dial.target.port}` };
  let target: Duplex | undefined;
  let failure: ChannelError | undefined;
  let credential: string | undefined;
  let done = false;
  // The target is dialled while the channel's WebSocket opens: the edge is usually the farther
  // of the two, so a session waits for the slower of them rather than for both in turn. The
  // hello still goes only once the target is connected (or could not be).
  const targetSettled = (async () => {
    if (!isAllowed(opts.rules, dial.target)) {
      failure = {
        type: 'channel-error',
        reason: 'not-allowed',
        message: `target ${fields.target} is not in the connector's allowlist`,
      };
    } else if (dial.credentialRef && !(credential = resolveCredential(dial.credentialRef))) {
      failure = {
        type: 'channel-error',
        reason: 'credential-missing',
        message: `the connector could not resolve credential ${dial.credentialRef}`,
      };
    } else {
      try {
        target = await openTarget(dial.target, {
          protocol: dial.protocol,
          connectTimeoutMs: 10_000,
          ...(dial.ca ? { ca: dial.ca } : {}),
          ...(opts.caFile ? { caFile: opts.caFile } : {}),
        });
        // Kubernetes: that connection only proved the API server is reachable with a verified
        // certificate, so a bad CA is refused at dial time; requests use the keep-alive pool.
        // A channel that ended while the target was being dialled has no use for it either.
        if (dial.protocol === 'kubernetes' || done) {
          target.destroy();
          target = undefined;
        }
      } catch (e) {
        const reason = e instanceof TargetError ? e.reason : 'unreachable';
        failure = { type: 'channel-error', reason, message: (e as Error).message };
      }
    }
    if (failure)
      opts.log('warn', 'dial refused', { ...fields, reason: failure.reason, detail: failure.message });
  })();

  const ws = new WebSocket(channelUrl(opts.edgeUrl, dial.sessionId), {
    headers: { Authorization: `Bearer ${dial.channelToken}` },
    perMessageDeflate: false,
  });
  ws.binaryType = 'nodebuffer';
  const untrack = track(() => {
    target?.destroy();
    ws.terminate();
  });

  await new Promise<void>((resolve) => {
    let streams: HttpStreams | undefined;
    const finish = (code: number, reason: string) => {
      if (done) return;
      done = true;
      target?.destroy();
      streams?.close(reason);
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      untrack();
      resolve();
    };
    const opened = () => {
      if (done) return;
      if (failure) {
        ws.send(JSON.stringify(failure));
        return finish(1008, failure.reason);
      }
      if (dial.protocol === 'kubernetes') {
        // The API server's credential stays here: the connector adds it to each request.
        ws.send(JSON.stringify({ type: 'channel-hello' } satisfies ChannelHello));
        opts.log('info', 'channel opened', fields);
        let auth = upstreamAuthOf(credential);
        const serve = () =>
          serveHttpStreams(ws, {
            target: dial.target,
            ...caOption({
              ...(dial.ca ? { ca: dial.ca } : {}),
              ...(opts.caFile ? { caFile: opts.caFile } : {}),
            }),
            auth,
            log: opts.log,
            fields,
            onChannelError: (message) => finish(1002, `bad mux frame: ${message}`.slice(0, 120)),
          });
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) {
            streams ??= serve();
            return streams.receive(data);
          }
          // One text frame may come first: the connection's sealed client certificate, opened by
          // the edge (a credential this connector resolved itself wins; never logged).
          if (streams) return finish(1008, 'text frame on a kubernetes channel');
          try {
            const c = upstreamAuthOf(parseChannelCredential(data.toString('utf8')).credential);
            if (c.kind !== 'client-certificate')
              return finish(1008, 'channel credential is not a certificate');
            if (auth.kind === 'none') auth = c;
          } catch {
            return finish(1008, 'text frame on a kubernetes channel');
          }
          streams = serve();
        });
        return;
      }
      const hello: ChannelHello = { type: 'channel-hello', ...(credential ? { credential } : {}) };
      ws.send(JSON.stringify(hello));
      opts.log('info', 'channel opened', fields);
      pumpWsTcp(ws, target!, {
        onText: (data) => {
          try {
            const cancel = parseChannelFromEdge(data.toString('utf8'));
            const s = connect({ host: dial.target.host, port: dial.target.port }, () =>
              s.end(cancelRequest(cancel)),
            );
            s.on('error', () => s.destroy());
            opts.log('info', 'cancel forwarded', fields);
          } catch {
            finish(1008, 'invalid channel message');
          }
        },
      });
      target!.on('close', () => finish(1000, 'target closed'));
      target!.on('error', (e) => finish(1011, `target error: ${e.message}`.slice(0, 120)));
    };
    ws.on('open', () => void targetSettled.then(opened));
    ws.on('unexpected-response', (_req, res) => {
      opts.log('warn', 'channel rejected by the edge', { ...fields, status: res.statusCode });
      finish(1000, 'rejected');
    });
    ws.on('close', () => finish(1000, 'edge closed'));
    ws.on('error', (e) => {
      opts.log('warn', 'channel error', { ...fields, error: e.message });
      finish(1011, 'error');
    });
  });
}
