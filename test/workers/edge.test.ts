/**
 * The Worker and Durable Objects inside workerd. Nothing here reaches a database: every case
 * is decided before the control plane would be asked.
 */
import { env, SELF, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseEdgeToConnector } from '../../core/tunnel/protocol.ts';

const WS = { Upgrade: 'websocket' };

describe('edge routes', () => {
  it('answers health checks', async () => {
    const res = await SELF.fetch('https://edge.test/healthz');
    expect(res.status).toBe(200);
  });

  it('asks for a WebSocket on the connect route', async () => {
    const res = await SELF.fetch('https://edge.test/v1/connect/demo');
    expect(res.status).toBe(426);
  });

  it('rejects a connect without a token and does not say which check failed', async () => {
    const none = await SELF.fetch('https://edge.test/v1/connect/demo', { headers: WS });
    const forged = await SELF.fetch('https://edge.test/v1/connect/demo', {
      headers: { ...WS, Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
    });
    expect(none.status).toBe(401);
    expect(forged.status).toBe(401);
    const a = (await none.json()) as { error: { code: string; message: string } };
    const b = (await forged.json()) as { error: { code: string; message: string } };
    expect(a.error.code).toBe('unauthorized');
    expect(b).toEqual(a);
  });

  it('rejects connector sockets without a connector token', async () => {
    const res = await SELF.fetch('https://edge.test/v1/connector/connect', {
      headers: { ...WS, Authorization: 'Bearer nope' },
    });
    expect(res.status).toBe(401);
  });

  it('refuses a data channel with a malformed session id or a wrong channel token', async () => {
    const bad = await SELF.fetch('https://edge.test/v1/channel/not-an-id', { headers: WS });
    expect(bad.status).toBe(404);
    const id = env.SESSION.newUniqueId().toString();
    const wrong = await SELF.fetch(`https://edge.test/v1/channel/${id}`, {
      headers: { ...WS, Authorization: 'Bearer pch_guess' },
    });
    expect(wrong.status).toBe(401);
  });

  it('serves the OpenAPI document without auth and protects the admin API', async () => {
    const doc = await SELF.fetch('https://edge.test/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toMatch(/^3\./);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/connectors', '/connections', '/sessions']),
    );
    const res = await SELF.fetch('https://edge.test/api/v1/connections');
    expect(res.status).toBe(401);
  });

  it('returns JSON 404 for unknown paths', async () => {
    const res = await SELF.fetch('https://edge.test/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('ConnectorDO', () => {
  const target = { host: '127.0.0.1', port: 5432, tls: 'none' as const };

  it('reports offline when no replica is connected', async () => {
    const stub = env.CONNECTOR.get(env.CONNECTOR.idFromName('con_offline'));
    const r = await stub.dial({
      sessionId: 'a'.repeat(64),
      channelToken: 'pch_x',
      protocol: 'postgres',
      target,
    });
    expect(r).toEqual({ ok: false, reason: 'offline' });
  });

  it('sends a dial request to a live replica and routes cancel keys only with the right secret', async () => {
    const stub = env.CONNECTOR.get(env.CONNECTOR.idFromName('con_live'));
    const res = await stub.fetch('https://connector/control', {
      headers: { ...WS, 'x-postern-replica': 'r1' },
    });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const received: string[] = [];
    ws.addEventListener('message', (e) => received.push(e.data as string));
    ws.send(JSON.stringify({ type: 'hello', replicaId: 'r1', version: 'test', hostname: 'host-1' }));

    const sessionId = env.SESSION.newUniqueId().toString();
    const r = await stub.dial({ sessionId, channelToken: 'pch_secret', protocol: 'postgres', target });
    expect(r.ok).toBe(true);
    for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((x) => setTimeout(x, 10));
    const dial = parseEdgeToConnector(received[0]!);
    expect(dial).toMatchObject({
      type: 'dial',
      sessionId,
      channelToken: 'pch_secret',
      protocol: 'postgres',
      target,
    });

    // The protocol is the connection's, not a constant: an SSH session's dial says ssh.
    const sshSession = env.SESSION.newUniqueId().toString();
    const sshTarget = { host: '127.0.0.1', port: 22, tls: 'none' as const };
    const ssh = await stub.dial({
      sessionId: sshSession,
      channelToken: 'pch_ssh',
      protocol: 'ssh',
      target: sshTarget,
    });
    if (!ssh.ok) throw new Error('the SSH dial found no replica');
    for (let i = 0; i < 50 && received.length < 2; i++) await new Promise((x) => setTimeout(x, 10));
    expect(parseEdgeToConnector(received[1]!)).toMatchObject({
      sessionId: sshSession,
      protocol: 'ssh',
      target: sshTarget,
    });
    await stub.sessionEnded(ssh.gatewayKey.processId);

    const replicas = await stub.listReplicas();
    expect(replicas).toEqual([
      expect.objectContaining({ replicaId: 'r1', hostname: 'host-1', version: 'test', activeSessions: 1 }),
    ]);

    if (!r.ok) throw new Error('unreachable');
    expect(
      await stub.cancel({ processId: r.gatewayKey.processId, secretKey: r.gatewayKey.secretKey ^ 1 }),
    ).toBe(false);
    await stub.sessionEnded(r.gatewayKey.processId);
    expect((await stub.listReplicas())[0]!.activeSessions).toBe(0);
    ws.close(1000, 'done');
  });

  it('answers heartbeats without waking the object', async () => {
    const stub = env.CONNECTOR.get(env.CONNECTOR.idFromName('con_ping'));
    await runInDurableObject(stub, (_instance, state) => {
      const pair = state.getWebSocketAutoResponse();
      expect(pair?.request).toBe('ping');
      expect(pair?.response).toBe('pong');
    });
  });
});

describe('SessionDO', () => {
  it('refuses a client upgrade without session parameters from the Worker', async () => {
    const stub = env.SESSION.get(env.SESSION.newUniqueId());
    const res = await stub.fetch('https://session/client', { headers: WS });
    expect(res.status).toBe(400);
  });

  it('refuses a data channel when no session is waiting for one', async () => {
    const stub = env.SESSION.get(env.SESSION.newUniqueId());
    const res = await stub.fetch('https://session/channel', {
      headers: { ...WS, Authorization: 'Bearer pch_x' },
    });
    expect(res.status).toBe(401);
  });
});
