/**
 * The connector's side of a Kubernetes data channel (shared setup: ./http-streams-harness.ts).
 * What closes the whole channel: a text frame, and a hostile mux frame (which also aborts the
 * channel's open upstream requests).
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_TYPES } from '../core/tunnel/http-mux/frames.ts';
import { api, dialChannel, get, useHttpStreamsHarness } from './http-streams-harness.ts';

useHttpStreamsHarness();

describe('Kubernetes data channel: channel errors', () => {
  it('closes the channel on a text frame: a kubernetes channel carries only mux frames', async () => {
    const { edge, done } = await dialChannel();
    edge!.ws.send(JSON.stringify({ type: 'cancel', processId: 1, secretKey: 2 }));
    expect(await edge!.closed).toEqual({ code: 1008, reason: 'text frame on a kubernetes channel' });
    await done;
  });

  it('closes the channel with a clear reason on a hostile frame, aborting its open upstream requests', async () => {
    const { edge, done } = await dialChannel();
    api.streamed = { written: 0, aborted: false, paused: false };
    const id = edge!.open(get('/watch?watch=true'));
    await edge!.until(() => (edge!.streams.get(id)!.received ?? 0) > 0, 'stream running');
    const bad = encodeFrame({ type: FRAME_TYPES.DATA, stream: 1, payload: new Uint8Array(1) });
    bad[0] = 0x2a; // unknown type
    edge!.ws.send(bad);
    const closed = await edge!.closed;
    expect(closed.code).toBe(1002);
    expect(closed.reason).toMatch(/bad mux frame: unknown frame type 42/);
    await done;
    await edge!.until(() => api.streamed.aborted, 'upstream aborted');
  });
});
