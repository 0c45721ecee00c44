/**
 * The connector's side of a Kubernetes data channel (shared setup: ./http-streams-harness.ts).
 * Bodies both ways and flow control: a request body streamed up and echoed back, and a watch held
 * at one window while the edge does not read.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES } from '../core/tunnel/http-mux/frame-batch.ts';
import { INITIAL_WINDOW, SEND_HIGH_WATER } from '../core/tunnel/http-mux/mux-side.ts';
import { api, dialChannel, directStreams, get, useHttpStreamsHarness } from './http-streams-harness.ts';

useHttpStreamsHarness();

describe('Kubernetes data channel: bodies and backpressure', () => {
  it('streams a request body up and the echo back down, bytes intact', async () => {
    const { edge, done } = await dialChannel();
    const body = Buffer.alloc(3 * INITIAL_WINDOW + 123);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const id = edge!.open(
      { method: 'POST', path: '/echo', headers: [['Content-Length', String(body.length)]] },
      body,
    );
    await edge!.until(() => !!edge!.streams.get(id)!.end, 'echo');
    expect(Buffer.concat(edge!.streams.get(id)!.body).equals(body)).toBe(true);
    edge!.ws.close(1000);
    await done;
  });

  it('holds a streaming response at one window while the edge does not read, buffering a bounded amount, and resumes it; a RESET aborts the upstream request', async () => {
    const { edge, streams, client } = await directStreams();
    edge.autoConsume = false;
    api.streamed = { written: 0, aborted: false, paused: false };
    const id = edge.open(get('/watch?watch=true'));
    const s = edge.streams.get(id)!;
    await edge.until(() => s.received === INITIAL_WINDOW && api.streamed.paused, 'one window, server paused');
    // Let the kernel's socket buffers fill, then check that nothing moves any more.
    await new Promise((r) => setTimeout(r, 300));
    const written = api.streamed.written;
    await new Promise((r) => setTimeout(r, 300));
    // Nothing past the window reached the edge, the API server is held by TCP backpressure, and
    // the connector queued at most its high-water mark plus one chunk of the response.
    expect(s.received).toBe(INITIAL_WINDOW);
    expect(api.streamed.written).toBe(written);
    expect(streams.stats.peakQueuedBytes).toBeLessThanOrEqual(SEND_HIGH_WATER + 64 * 1024);
    console.log(
      `slow reader: API server wrote ${written} bytes, edge got ${s.received}, connector queued at most ${streams.stats.peakQueuedBytes}`,
    );
    // The reader reads: more flows.
    edge.consume(id);
    await edge.until(() => s.received > INITIAL_WINDOW, 'more after credit');
    edge.side.reset(id, 'cancel', 'kubectl went away');
    await edge.until(() => api.streamed.aborted, 'the API server sees the abort');
    expect(s.end).toMatchObject({ reset: true, by: 'local', reason: 'cancel' });
    streams.close('test over');
    client.close();
  });

  it("sends a fast response's frames several to a WebSocket message, each message within the batch cap", async () => {
    const { edge, streams, client } = await directStreams();
    api.streamed = { written: 0, aborted: false, paused: false };
    const before = edge.messagesIn;
    const id = edge.open(get('/watch?watch=true'));
    const s = edge.streams.get(id)!;
    await edge.until(() => s.received >= 4 * 1024 * 1024, '4 MiB read');
    const messages = edge.messagesIn - before;
    const frames = s.body.length; // one DATA frame per chunk the connector read
    console.log(
      `4 MiB: ${frames} DATA frames in ${messages} WebSocket messages (largest ${edge.largestMessageIn} B)`,
    );
    // Unbatched, every frame was its own message (messages > frames: the HEAD too). How many
    // share one depends on what a poll phase reads (here ~2 while credit comes 64 KiB at a time).
    expect(messages).toBeLessThan(frames * 0.8);
    expect(edge.largestMessageIn).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    edge.side.reset(id, 'cancel', 'test over');
    streams.close('test over');
    client.close();
  });
});
