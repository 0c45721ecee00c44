/**
 * Hostile bytes from either side: the engine never throws, ends once with a reason, and
 * bounds what it holds. (The real OpenSSH/sshd cases are in test/e2e/ssh/engine.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SshSession } from './session.ts';
import type { SshEnd, SshHooks } from './types.ts';

const enc = new TextEncoder();
let hostKey: JsonWebKey;

async function key(): Promise<JsonWebKey> {
  hostKey ??= (await crypto.subtle.exportKey(
    'jwk',
    (
      (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
      ])) as CryptoKeyPair
    ).privateKey,
  )) as JsonWebKey;
  return hostKey;
}

async function session(over: Partial<SshHooks> = {}) {
  const ends: SshEnd[] = [];
  const toClient: Uint8Array[] = [];
  const s = new SshSession(
    { hostKey: await key() },
    {
      toClient: (b) => toClient.push(b),
      toTarget: () => undefined,
      end: (r) => ends.push(r),
      decide: () => 'allow',
      audit: () => undefined,
      ...over,
    },
  );
  return { s, ends, toClient };
}

async function settle(ends: SshEnd[]): Promise<void> {
  for (let i = 0; i < 200 && ends.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
}

const VERSION = enc.encode('SSH-2.0-OpenSSH_9.2\r\n');

describe('SshSession with hostile client bytes', () => {
  it('sends its version line first, and ends with a reason on a client that sends none', async () => {
    const { s, ends, toClient } = await session();
    await new Promise((r) => setTimeout(r, 20));
    expect(new TextDecoder().decode(toClient[0]!)).toMatch(/^SSH-2\.0-/);
    for (let i = 0; i < 30; i++) s.clientData(enc.encode(`not ssh ${i}\r\n`));
    await settle(ends);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ kind: 'protocol' });
    expect(ends[0]!.detail).toMatch(/protocol version/);
  });

  it('ends with a reason, once, and never throws, whatever follows the version line', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { minLength: 1, maxLength: 8 }),
          async (chunks) => {
            const { s, ends } = await session();
            s.clientData(VERSION);
            for (const c of chunks) s.clientData(c);
            s.clientClosed();
            await settle(ends);
            // After the end nothing more happens and nothing throws.
            s.clientData(new Uint8Array(100));
            s.targetData(new Uint8Array(100));
            s.resolveHeld(true, 'x');
            s.notice('x');
            expect(ends).toHaveLength(1);
            expect(ends[0]!.detail.length).toBeGreaterThan(0);
            expect(s.phase).toBe('closed');
          },
        ),
        { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('ends a client that announces a packet longer than SSH allows', async () => {
    const { s, ends } = await session();
    s.clientData(VERSION);
    s.clientData(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    await settle(ends);
    expect(ends[0]).toMatchObject({ kind: 'protocol' });
  });

  it('ends a client that sends far more than any window allows before the gateway reads it', async () => {
    const { s, ends } = await session();
    s.clientData(VERSION);
    // The cap is windows × channels + 1 MiB (33 MiB by default).
    s.clientData(new Uint8Array(40 * 1024 * 1024));
    await settle(ends);
    expect(ends[0]).toMatchObject({ kind: 'overload' });
  });

  it('ends with a reason when the host fails it, and a bad host key is a config error, not a crash', async () => {
    const a = await session();
    a.s.fail('grant revoked');
    await settle(a.ends);
    expect(a.ends).toEqual([{ kind: 'failed', detail: 'grant revoked' }]);
    const ends: SshEnd[] = [];
    new SshSession(
      { hostKey: 'not a key' },
      {
        toClient: () => undefined,
        toTarget: () => undefined,
        end: (r) => ends.push(r),
        decide: () => 'allow',
        audit: () => undefined,
      },
    );
    await settle(ends);
    expect(ends[0]!.detail).toMatch(/not PKCS#8 PEM/);
  });
});
