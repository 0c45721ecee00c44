/**
 * The direct-target transport (durable-objects/session/direct-target.ts) inside workerd, against
 * a real Postgres: the control-plane cluster of this pool (127.0.0.1, no TLS), reached with
 * `cloudflare:sockets` as a SessionDO reaches a direct connection's target. The protocol session
 * is a recorder: the test checks the calls it gets are the ones a data channel gives (the
 * credential at open, then the target's bytes), and that what must not be dialled is not.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { startupMessage } from '../../core/pg/messages.ts';
import type { CloseReason } from '../../core/session-host/close-reason.ts';
import type { ProtocolSession } from '../../core/session-host/protocol.ts';
import type { TargetSpec } from '../../core/tunnel/protocol.ts';
import type { SessionConnection } from '../../edge/contracts/session-start.ts';
import { dialDirect } from '../../durable-objects/session/direct-target.ts';

const cp = new URL(env.DATABASE_URL);

function recorder() {
  const calls: string[] = [];
  const bytes: number[] = [];
  let failed: CloseReason | undefined;
  let resolveDone: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const session = {
    targetOpen: (c: { kind: string; secret: string }) => calls.push(`open:${c.kind}:${c.secret}`),
    targetData: (b: Uint8Array) => {
      calls.push('data');
      bytes.push(...b);
      resolveDone();
    },
    targetClosed: () => {
      calls.push('closed');
      resolveDone();
    },
    fail: (r: CloseReason) => {
      failed = r;
      calls.push(`fail:${r.kind}`);
      resolveDone();
    },
  } as unknown as ProtocolSession;
  return { session, calls, bytes, done, failed: () => failed };
}

function conn(target: Partial<TargetSpec>, credential: SessionConnection['credential']): SessionConnection {
  return {
    id: 'cn_test',
    name: 'straight',
    protocol: 'postgres',
    connectorId: 'con_test',
    reach: 'direct',
    target: { host: '127.0.0.1', port: Number(cp.port), tls: 'none', ...target },
    database: 'postgres',
    username: 'postgres',
    credential,
    masking: { detectors: true, rules: [] } as unknown as SessionConnection['masking'],
  };
}

const SEALED = { kind: 'encrypted', keyId: 'k1', ciphertext: 'x' } as const;

/** dialDirect to the pool's Postgres with a sealed password, private addresses allowed; `over` replaces what a case varies. */
function dial(
  r: ReturnType<typeof recorder>,
  target: Partial<TargetSpec>,
  over: Partial<Parameters<typeof dialDirect>[0]> = {},
) {
  return dialDirect({
    session: r.session,
    conn: conn(target, SEALED),
    rules: { allowPrivate: true },
    credential: Promise.resolve('pw'),
    secretKind: 'password',
    settled: () => undefined,
    ...over,
  });
}

describe('dialDirect', () => {
  it('opens the target, hands the credential over first, then the target answers what is sent', async () => {
    const r = recorder();
    let settled = 0;
    const link = dial(
      r,
      {},
      { credential: Promise.resolve('pw-from-the-keyring'), settled: () => settled++ },
    );
    // Sent at once, before the socket is up: it waits in order.
    link.send(startupMessage({ user: 'postern_nobody', database: 'postgres' }));
    await r.done;
    expect(settled).toBe(1);
    expect(r.calls[0]).toBe('open:password:pw-from-the-keyring');
    expect(r.calls).toContain('data');
    // The server answered the StartupMessage: an authentication request or an error.
    expect(['R', 'E']).toContain(String.fromCharCode(r.bytes[0]!));
    link.close();
  });

  it('refuses TLS the target does not offer (N), never falling back to plain', async () => {
    const r = recorder();
    dial(r, { tls: 'postgres-starttls' });
    await r.done;
    expect(r.calls).toEqual(['fail:channel-failed']);
    expect(r.failed()?.forClient).toMatch(/does not offer TLS/);
  });

  it('refuses a private address outside development, before any connection', async () => {
    const r = recorder();
    dial(r, { tls: 'postgres-starttls' }, { rules: { allowPrivate: false } });
    expect(r.calls).toEqual(['fail:channel-failed']);
    expect(r.failed()?.forClient).toMatch(/not a public address/);
  });

  it('refuses a connector-resolved credential', async () => {
    const r = recorder();
    dial(r, {}, { conn: conn({}, { kind: 'connector_ref', ref: 'env:PW' }), credential: undefined });
    expect(r.calls).toEqual(['fail:channel-failed']);
    expect(r.failed()?.forClient).toMatch(/sealed at the edge/);
  });

  it('reports a target that cannot be reached', async () => {
    const r = recorder();
    dial(r, { port: 1 });
    await r.done;
    expect(r.calls).toEqual(['fail:channel-failed']);
    expect(r.failed()?.forClient).toMatch(/cannot connect to 127\.0\.0\.1:1/);
  });
});
