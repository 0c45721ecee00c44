/**
 * The SSH engine inside workerd (the SessionDO's runtime), on the library's Web Crypto
 * classes: SshSession between the library's own client (standing in for OpenSSH) and server
 * (standing in for sshd), over in-memory streams. The Node-side e2e (test/e2e/ssh) runs the
 * real OpenSSH tools; this proves the same code loads and relays here.
 */
import {
  ChannelRequestMessage,
  CommandRequestMessage,
  SshAlgorithms,
  SshAuthenticationType,
  SshClientSession,
  SshServerSession,
  SshSessionConfiguration,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { Pipe, pkcs8Pem } from '../support/ssh-in-process.ts';
import { describe, expect, it } from 'vitest';
import { SshSession } from '../../core/ssh/engine/session.ts';
import { publicKeyLine } from '../../core/ssh/engine/keys.ts';
import type { SshEnd, SshRequest } from '../../core/ssh/engine/types.ts';

function base64(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

async function ecJwk(): Promise<JsonWebKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
}

async function setup(decide: (r: SshRequest) => 'allow' | { deny: string }) {
  const userJwk = await ecJwk();
  const audit: string[] = [];
  let end: SshEnd | undefined;
  // target: the library's server with an RSA host key, accepting the injected user key
  const targetHostKey = await SshAlgorithms.publicKey.rsaWithSha512!.generateKeyPair(2048);
  const sshd = new SshServerSession(new SshSessionConfiguration());
  sshd.credentials = { publicKeys: [targetHostKey] };
  let acceptedUser = '';
  let auditedAtExec: string[] = [];
  sshd.onAuthenticating((e) => {
    if (e.authenticationType === SshAuthenticationType.clientPublicKey) {
      acceptedUser = e.username ?? '';
      e.authenticationPromise = Promise.resolve({});
    }
  });
  sshd.onChannelOpening((e) => {
    const ch = e.channel;
    ch.onRequest((r) => {
      // What the gateway had audited when the target received the request.
      if (r.requestType === 'exec') auditedAtExec = [...audit];
      r.isAuthorized = r.requestType === 'exec' || r.requestType === 'x11-req';
      if (r.requestType === 'exec') void runCommand(ch);
    });
  });
  // gateway
  const toTarget: Pipe = new Pipe((b) => engine.targetData(b));
  const toClient: Pipe = new Pipe((b) => engine.clientData(b));
  const engine: SshSession = new SshSession(
    { hostKey: await pkcs8Pem() },
    {
      toClient: (b) => toClient.push(b),
      toTarget: (b) => toTarget.push(b),
      end: (r) => (end = r),
      decide,
      audit: (kind, e) => audit.push(`${kind} ${JSON.stringify(e)}`),
    },
  );
  void sshd.connect(toTarget);
  engine.targetOpen({ privateKey: userJwk });
  // client
  const client = new SshClientSession(new SshSessionConfiguration());
  let gatewayKey = '';
  client.onAuthenticating((e) => {
    if (e.authenticationType !== SshAuthenticationType.serverPublicKey) return;
    e.authenticationPromise = publicKeyLine(e.publicKey!).then((k) => ((gatewayKey = k), {}));
  });
  await client.connect(toClient);
  const loggedIn = await client.authenticate({ username: 'alice' });
  return {
    client,
    engine,
    sshd,
    audit,
    loggedIn,
    gatewayKey,
    acceptedUser: () => acceptedUser,
    auditedAtExec: () => auditedAtExec,
    end: () => end,
  };
}

/** The target's command: echoes what it reads back, then exit-status 0 and close. */
async function runCommand(ch: SshChannel): Promise<void> {
  ch.onDataReceived((d) => {
    const copy = Buffer.from(d);
    void ch.send(copy).then(() => ch.adjustWindow(copy.length));
  });
  ch.onEof(() => void ch.send(Buffer.alloc(0)).then(() => ch.close(0)));
}

describe('SshSession in workerd', () => {
  it('logs in with the injected key, relays an exec both ways byte for byte, and reports exit', async () => {
    const asked: SshRequest[] = [];
    const s = await setup((r) => (asked.push(r), 'allow'));
    expect(s.loggedIn).toBe(true);
    expect(s.gatewayKey).toMatch(/^ecdsa-sha2-nistp256 /);
    expect(s.acceptedUser()).toBe('alice');
    const ch = await s.client.openChannel('session');
    const cmd = new CommandRequestMessage();
    cmd.command = 'cat';
    cmd.wantReply = true;
    expect(await ch.request(cmd)).toBe(true);
    // Audit before forward: the target saw the exec only after it was audited.
    expect(s.auditedAtExec()).toContain(
      'ssh.request {"action":"ssh:exec","command":"cat","outcome":"allowed"}',
    );

    const size = 8 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    const got: Uint8Array[] = [];
    let n = 0;
    const done = new Promise<number | undefined>((resolve) => ch.onClosed((e) => resolve(e.exitStatus)));
    ch.onDataReceived((d) => {
      got.push(new Uint8Array(d));
      n += d.length;
      ch.adjustWindow(d.length);
    });
    const t0 = performance.now();
    await ch.send(Buffer.from(data.buffer));
    await ch.send(Buffer.alloc(0));
    const status = await done;
    const seconds = (performance.now() - t0) / 1000;
    expect(n).toBe(size);
    const back = new Uint8Array(size);
    let o = 0;
    for (const g of got) {
      back.set(g, o);
      o += g.length;
    }
    const digest = async (b: Uint8Array<ArrayBuffer>) => base64(await crypto.subtle.digest('SHA-256', b));
    expect(await digest(back)).toBe(await digest(data));
    expect(status).toBe(0);
    expect(asked).toEqual([
      { action: 'ssh:login', login: 'alice' },
      { action: 'ssh:exec', command: 'cat' },
    ]);
    // Information, not an assertion: three SSH stacks share this isolate's CPU here.
    console.log(
      `workerd relay: ${((2 * size) / 1048576 / seconds).toFixed(1)} MB/s through (8 MiB each way, 3 SSH stacks in one isolate)`,
    );
  });

  it('refuses a login policy denies', async () => {
    const s = await setup((r) => (r.action === 'ssh:login' ? { deny: 'not alice' } : 'allow'));
    expect(s.loggedIn).toBe(false);
    expect(s.audit.some((a) => a.includes('"outcome":"denied"') && a.includes('not alice'))).toBe(true);
  });
});

/** A channel request with no fields of its own beyond the ones the engine reads. */
function bareRequest(type: string): ChannelRequestMessage {
  const m = new ChannelRequestMessage();
  m.requestType = type;
  m.wantReply = true;
  return m;
}

describe('channels the target opens back (X11, agent)', () => {
  it('relays an x11 channel both ways once x11-req was asked for and permitted', async () => {
    const s = await setup(() => 'allow');
    const opened = new Promise<SshChannel>((resolve) =>
      s.client.onChannelOpening((e) => {
        if (e.request.channelType === 'x11') resolve(e.channel);
      }),
    );
    const ch = await s.client.openChannel('session');
    expect(await ch.request(bareRequest('x11-req'))).toBe(true);
    // The target (an X11 client connecting to the forwarded display) opens x11 back.
    const fromTarget = await s.sshd.openChannel('x11');
    const atClient = await opened;
    const got = new Promise<string>((resolve) =>
      atClient.onDataReceived((d) => resolve(Buffer.from(d).toString())),
    );
    const back = new Promise<string>((resolve) =>
      fromTarget.onDataReceived((d) => resolve(Buffer.from(d).toString())),
    );
    await fromTarget.send(Buffer.from('from the X client'));
    expect(await got).toBe('from the X client');
    await atClient.send(Buffer.from('from the X server'));
    expect(await back).toBe('from the X server');
    expect(
      s.audit.some((a) => a.startsWith('ssh.forward') && a.includes('"type":"x11"') && a.includes('relayed')),
    ).toBe(true);
  });

  it('refuses the x11 channel when policy denied x11-req: the client never sees it', async () => {
    const s = await setup((r) => (r.action === 'ssh:x11_forward' ? { deny: 'no display' } : 'allow'));
    let seen = 0;
    s.client.onChannelOpening((e) => (e.isRemoteRequest ? seen++ : undefined));
    const ch = await s.client.openChannel('session');
    expect(await ch.request(bareRequest('x11-req'))).toBe(false);
    await expect(s.sshd.openChannel('x11')).rejects.toThrow();
    expect(seen).toBe(0);
    expect(s.audit.some((a) => a.includes('"type":"x11"') && a.includes('"outcome":"refused"'))).toBe(true);
  });

  it('refuses agent, x11 and other channels the client never asked for', async () => {
    const s = await setup(() => 'allow');
    let seen = 0;
    s.client.onChannelOpening((e) => (e.isRemoteRequest ? seen++ : undefined));
    await s.client.openChannel('session');
    for (const type of ['auth-agent@openssh.com', 'x11', 'session', 'forwarded-tcpip'])
      await expect(s.sshd.openChannel(type)).rejects.toThrow();
    expect(seen).toBe(0);
  });
});
