/**
 * The connector's side of a Kubernetes data channel (shared setup: ./http-streams-harness.ts).
 * Plain requests over one channel: many in parallel on a few pooled keep-alive TLS connections,
 * and a response the API server cuts short.
 */
import { describe, expect, it } from 'vitest';
import { api, dialChannel, get, useHttpStreamsHarness } from './http-streams-harness.ts';

useHttpStreamsHarness();

describe('Kubernetes data channel: requests and the upstream pool', () => {
  it('runs 50 parallel GETs over one channel on a few keep-alive TLS connections, adding the bearer token', async () => {
    process.env['KUBEMUX_TEST_TOKEN'] = 'sa-token-abc';
    const { edge, hello, done } = await dialChannel({ credentialRef: 'env:KUBEMUX_TEST_TOKEN' });
    // The API server's credential stays in the connector.
    expect(hello).toEqual({ type: 'channel-hello' });
    const before = api.connections;
    const burst = async () => {
      const ids = Array.from({ length: 50 }, (_, i) =>
        edge!.open(
          get(`/api/v1/pods?i=${i}&b=${api.connections}`, [
            ['Accept', 'application/json'],
            ['Authorization', 'Bearer client-token'],
            ['Connection', 'keep-alive, X-Hop'],
            ['X-Hop', '1'],
          ]),
        ),
      );
      await edge!.until(() => ids.every((id) => edge!.streams.get(id)!.end), '50 responses');
      return ids;
    };
    const first = await burst();
    const firstConnections = api.connections - before;
    const second = await burst();
    const total = api.connections - before;
    console.log(
      `50 parallel GETs: ${firstConnections} TLS connections (+1 dial-time check); next 50: ${total - firstConnections} more`,
    );
    for (const [i, id] of first.entries()) {
      const s = edge!.streams.get(id)!;
      expect(s.end).toEqual({ reset: false });
      expect(s.head?.status).toBe(200);
      expect(JSON.parse(Buffer.concat(s.body).toString()).items[0].metadata.name).toBe(String(i));
    }
    expect(second).toHaveLength(50);
    // One dial-time verification connection, then the pool: at most MAX_UPSTREAM_SOCKETS (16).
    expect(firstConnections).toBeLessThanOrEqual(1 + 16);
    expect(total - firstConnections).toBeLessThanOrEqual(2);
    const headers = [...api.seen.entries()].find(([k]) => k.startsWith('/api/v1/pods?i=7&'))![1];
    expect(headers['authorization']).toBe('Bearer sa-token-abc');
    expect(headers['x-hop']).toBeUndefined();
    expect(headers['accept']).toBe('application/json');
    edge!.ws.close(1000);
    await done;
  });

  it('RESETs a stream whose response the API server cut short, rather than ending it as complete', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open(get('/die'));
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'the stream ends');
    expect(s.ended).toBe(false);
    expect(s.end).toMatchObject({ reset: true, by: 'peer', reason: 'upstream-failed' });
    edge!.ws.close(1000);
    await done;
  });
});
