/**
 * The connector's side of a Kubernetes data channel (shared setup: ./http-streams-harness.ts).
 * Upgraded streams: exec (v5.channel.k8s.io), kubectl port-forward (SPDY/3.1+portforward.k8s.io),
 * a subprotocol that was not offered, and a refused upgrade.
 */
import { describe, expect, it } from 'vitest';
import { api, dialChannel, useHttpStreamsHarness } from './http-streams-harness.ts';
import { SPDY_PORT_FORWARD } from './http-streams-stand-in.ts';

useHttpStreamsHarness();

describe('Kubernetes data channel: upgrades: exec and port-forward', () => {
  it('upgrades to WebSocket v5.channel.k8s.io and carries messages both ways, boundaries kept', async () => {
    process.env['KUBEMUX_TEST_TOKEN'] = 'sa-token-exec';
    const { edge, done } = await dialChannel({ credentialRef: 'env:KUBEMUX_TEST_TOKEN' });
    const path = '/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&stdout=true';
    const id = edge!.open({
      method: 'GET',
      path,
      headers: [['Authorization', 'Bearer client']],
      upgrade: { protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.head, 'upgrade answer');
    expect(s.head).toEqual({ status: 101, headers: [], protocol: 'v5.channel.k8s.io' });
    expect(api.seen.get(path)!['authorization']).toBe('Bearer sa-token-exec');
    const big = Buffer.alloc(100_000, 'y');
    edge!.side.message(id, true, Buffer.from('\x00ls\n'));
    edge!.side.message(id, true, Buffer.concat([Buffer.from([0]), big]));
    await edge!.until(() => s.messages.length === 2, 'two stdout messages');
    expect(s.messages[0]).toEqual([true, Buffer.from('\x01ls\n')]);
    expect(s.messages[1]![1].equals(Buffer.concat([Buffer.from([1]), big]))).toBe(true);
    // v5's close channel (255): the server closes; the stream ends normally both ways.
    edge!.side.message(id, true, Buffer.from([255, 0]));
    await edge!.until(() => s.ended, 'END from the connector');
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    expect(s.end).toEqual({ reset: false });
    edge!.ws.close(1000);
    await done;
  });

  it("carries kubectl's port-forward upgrade (subprotocol SPDY/3.1+portforward.k8s.io) and its bytes both ways", async () => {
    const { edge, done } = await dialChannel();
    const path = '/api/v1/namespaces/default/pods/web/portforward';
    const id = edge!.open({ method: 'GET', path, headers: [], upgrade: { protocols: [SPDY_PORT_FORWARD] } });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.head, 'upgrade answer');
    expect(s.head).toEqual({ status: 101, headers: [], protocol: SPDY_PORT_FORWARD });
    expect(api.seen.get(path)!['sec-websocket-protocol']).toBe('spdy-port-forward');
    // SPDY frames are opaque to the connector: a binary message goes up as it is (the test
    // server echoes channel-0-looking messages on channel 1).
    edge!.side.message(id, true, Buffer.from([0, 0x80, 3, 0, 1]));
    await edge!.until(() => s.messages.length === 1, 'the echo');
    expect(s.messages[0]).toEqual([true, Buffer.from([1, 0x80, 3, 0, 1])]);
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    edge!.ws.close(1000);
    await done;
  });

  it('RESETs an upgrade whose answer names a subprotocol that was not offered (RFC 6455 §4.1)', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open({
      method: 'GET',
      path: '/api/v1/namespaces/default/pods/web/portforward-wrong',
      headers: [],
      upgrade: { protocols: [SPDY_PORT_FORWARD] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'reset');
    expect(s.head).toBeUndefined();
    expect(s.end).toMatchObject({ reset: true, reason: 'upstream-failed' });
    edge!.ws.close(1000);
    await done;
  });

  it('relays a refused upgrade as the HTTP response it is', async () => {
    const { edge, done } = await dialChannel();
    const id = edge!.open({
      method: 'GET',
      path: '/api/v1/namespaces/forbidden/pods/p/exec?command=sh',
      headers: [],
      upgrade: { protocols: ['v5.channel.k8s.io'] },
    });
    const s = edge!.streams.get(id)!;
    await edge!.until(() => s.ended, 'the 403 response');
    expect(s.head?.status).toBe(403);
    expect(s.head?.protocol).toBeUndefined();
    edge!.side.end(id);
    await edge!.until(() => !!s.end, 'closed');
    expect(s.end).toEqual({ reset: false });
    edge!.ws.close(1000);
    await done;
  });
});
