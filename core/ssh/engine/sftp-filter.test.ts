import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FX, FXP, MAX_PACKET, PFLAG, SftpFramer } from '../sftp-packets.ts';
import { SftpFilter, type SftpFilterIo, type SftpPermit } from './sftp-filter.ts';
import type { SshRequest } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const str = (s: string | Uint8Array) => {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  return cat(u32(b.length), b);
};
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const packet = (type: number, ...fields: Uint8Array[]) => {
  const body = cat(Uint8Array.of(type), ...fields);
  return cat(u32(body.length), body);
};
const OWN = 0xffffffff;
const init = () => packet(FXP.INIT, u32(3));
const version = () => packet(FXP.VERSION, u32(3));
const name = (id: number, p: string) => packet(FXP.NAME, u32(id), u32(1), str(p), str(p), u32(0));
const open = (id: number, p: string, flags: number) => packet(FXP.OPEN, u32(id), str(p), u32(flags), u32(0));
const handle = (id: number, h: string) => packet(FXP.HANDLE, u32(id), str(h));
const write = (id: number, h: string, n = 10) =>
  packet(FXP.WRITE, u32(id), str(h), u32(0), u32(0), str(new Uint8Array(n)));
const remove = (id: number, p: string) => packet(FXP.REMOVE, u32(id), str(p));
const data = (id: number, n: number) => packet(FXP.DATA, u32(id), str(new Uint8Array(n)));

/** A filter whose io records everything; `decide` answers each operation. */
function harness(decide: (r: SshRequest) => SftpPermit | Promise<SftpPermit> = () => ({ ok: true })) {
  const toTarget: Array<{ bytes: Uint8Array; counted: number }> = [];
  const toClient: Array<{ bytes: Uint8Array; counted: number }> = [];
  const asked: string[] = [];
  const audit: Record<string, unknown>[] = [];
  const said: string[] = [];
  const violations: string[] = [];
  let eof = 0;
  const io: SftpFilterIo = {
    toTarget: (bytes, counted) => toTarget.push({ bytes: bytes.slice(), counted }),
    toClient: (bytes, counted) => toClient.push({ bytes: bytes.slice(), counted }),
    eof: () => eof++,
    inFlight: () => 0,
    limit: 2 * 1024 * 1024 + 65536,
    permit: async (r) => {
      if (r.action === 'ssh:sftp_read' || r.action === 'ssh:sftp_write')
        asked.push(`${r.action.slice(9)} ${r.operation} ${r.path}`);
      return decide(r);
    },
    audit: (e) => audit.push(e),
    violation: (d) => violations.push(d),
    say: (t) => said.push(t),
  };
  const f = new SftpFilter(io);
  return {
    f,
    toTarget,
    toClient,
    asked,
    audit,
    said,
    violations,
    eofs: () => eof,
    /** The target's stream as packets (type, and the whole packet). */
    targetPackets: () => packetsOf(cat(...toTarget.map((t) => t.bytes))),
    clientPackets: () => packetsOf(cat(...toClient.map((t) => t.bytes))),
    counted: () => toTarget.reduce((n, t) => n + t.counted, 0),
  };
}
function packetsOf(bytes: Uint8Array) {
  return new SftpFramer().push(bytes).map((p) => ({ type: p.type, bytes: p.bytes }));
}
const idOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(5);
const pathOf = (p: Uint8Array) => {
  const v = new DataView(p.buffer, p.byteOffset);
  return dec.decode(p.subarray(13, 13 + v.getUint32(9)));
};
const settle = () => new Promise((r) => setTimeout(r, 0));

/** Past INIT and the gateway's own REALPATH ".", the server's start directory /home/deploy. */
async function started(decide?: Parameters<typeof harness>[0]) {
  const h = harness(decide);
  h.f.clientData(init());
  const own = h.targetPackets()[1]!;
  expect(own.type).toBe(FXP.REALPATH);
  expect(idOf(own.bytes)).toBe(OWN);
  h.f.targetData(cat(version(), name(OWN, '/home/deploy')));
  await settle();
  return h;
}

describe('SFTP filter', () => {
  it('asks the start directory itself and keeps the answer from the client', async () => {
    const h = harness();
    h.f.clientData(cat(init(), remove(1, 'x')));
    // Nothing after INIT is read until the answer came.
    expect(h.targetPackets().map((p) => p.type)).toEqual([FXP.INIT, FXP.REALPATH]);
    const answer = cat(version(), name(OWN, '/home/deploy'));
    // Split inside the answer: held until it is whole.
    h.f.targetData(answer.subarray(0, 20));
    expect(h.toClient).toEqual([]);
    h.f.targetData(answer.subarray(20));
    await settle();
    expect(h.clientPackets().map((p) => p.type)).toEqual([FXP.VERSION]);
    // The answer's bytes are given back to the target's window all the same.
    expect(h.toClient.reduce((n, c) => n + c.counted, 0)).toBe(answer.length);
    // The relative path is decided and forwarded absolute.
    expect(h.asked).toEqual(['write remove /home/deploy/x']);
    const sent = h.targetPackets()[2]!;
    expect(pathOf(sent.bytes)).toBe('/home/deploy/x');
  });

  it('refuses an operation policy denies: STATUS PERMISSION_DENIED with the reason, nothing forwarded', async () => {
    const h = await started((r) =>
      r.action === 'ssh:sftp_write' ? { ok: false, message: 'writes are off (policy p1)' } : { ok: true },
    );
    const before = h.targetPackets().length;
    const req = remove(7, '/etc/passwd');
    h.f.clientData(req);
    await settle();
    expect(h.targetPackets()).toHaveLength(before);
    const reply = h.clientPackets().at(-1)!.bytes;
    expect(reply[4]).toBe(FXP.STATUS);
    expect(idOf(reply)).toBe(7);
    expect(new DataView(reply.buffer).getUint32(9)).toBe(FX.PERMISSION_DENIED);
    expect(dec.decode(reply)).toContain('writes are off (policy p1)');
    expect(h.said).toEqual(['postern: writes are off (policy p1)']);
    // The client's window is given its bytes back.
    expect(h.toTarget.at(-1)).toMatchObject({ counted: req.length });
    expect(h.toTarget.at(-1)!.bytes).toHaveLength(0);
  });

  it('keeps requests in order behind one waiting for its decision, its bytes unacknowledged', async () => {
    let release!: (p: SftpPermit) => void;
    const h = await started((r) =>
      r.action === 'ssh:sftp_write' && 'path' in r && r.path === '/slow'
        ? new Promise((res) => (release = res))
        : { ok: true },
    );
    h.f.clientData(open(2, '/up', PFLAG.WRITE | PFLAG.CREAT));
    await settle();
    h.f.targetData(handle(2, 'H'));
    const counted = h.counted();
    h.f.clientData(cat(remove(3, '/slow'), write(4, 'H'), write(5, 'H')));
    await settle();
    expect(h.counted()).toBe(counted);
    expect(
      h
        .targetPackets()
        .map((p) => idOf(p.bytes))
        .slice(-1),
    ).toEqual([2]);
    release({ ok: true });
    await settle();
    expect(
      h
        .targetPackets()
        .map((p) => idOf(p.bytes))
        .slice(-3),
    ).toEqual([3, 4, 5]);
  });

  it('keeps bytes sent one at a time behind a waiting request, and forwards them whole after it', async () => {
    let release!: (p: SftpPermit) => void;
    const h = await started((r) =>
      'path' in r && r.path === '/slow' ? new Promise((res) => (release = res)) : { ok: true },
    );
    h.f.clientData(open(2, '/up', PFLAG.WRITE | PFLAG.CREAT));
    await settle();
    h.f.targetData(handle(2, 'H'));
    h.f.clientData(remove(3, '/slow'));
    const later = cat(...Array.from({ length: 50 }, (_, i) => write(10 + i, 'H', 100)), remove(60, '/b'));
    for (const byte of later) h.f.clientData(Uint8Array.of(byte));
    await settle();
    release({ ok: true });
    await settle();
    const ids = h.targetPackets().map((p) => idOf(p.bytes));
    expect(ids.slice(-52)).toEqual([3, ...Array.from({ length: 50 }, (_, i) => 10 + i), 60]);
    expect(h.violations).toEqual([]);
  });

  it('passes EOF on only after the requests before it', async () => {
    let release!: (p: SftpPermit) => void;
    const h = await started(() => new Promise((res) => (release = res)));
    h.f.clientData(remove(2, '/x'));
    h.f.eof();
    await settle();
    expect(h.eofs()).toBe(0);
    release({ ok: true });
    await settle();
    expect(h.eofs()).toBe(1);
  });

  it("puts its own answers between the target's packets, never inside one", async () => {
    const h = await started((r) =>
      r.action === 'ssh:sftp_write' ? { ok: false, message: 'no' } : { ok: true },
    );
    const big = data(1, 100_000);
    h.f.targetData(big.subarray(0, 5000));
    h.f.clientData(remove(9, '/x'));
    await settle();
    h.f.targetData(big.subarray(5000));
    const got = h.clientPackets().slice(1);
    expect(got.map((p) => p.type)).toEqual([FXP.DATA, FXP.STATUS]);
    expect(got[0]!.bytes.length).toBe(big.length);
    expect(got[0]!.bytes.every((b, i) => b === big[i])).toBe(true);
  });

  it('refuses a WRITE on a read handle and a handle never given, and goes on', async () => {
    const h = await started();
    h.f.clientData(open(2, '/etc/hosts', PFLAG.READ));
    await settle();
    h.f.targetData(handle(2, 'R'));
    h.f.clientData(cat(write(3, 'R'), write(4, 'forged'), remove(5, '/tmp/ok')));
    await settle();
    const replies = h.clientPackets().filter((p) => p.type === FXP.STATUS);
    expect(replies.map((p) => idOf(p.bytes))).toEqual([3, 4]);
    expect(h.audit.map((a) => a['reason'])).toEqual([
      'SFTP WRITE on a handle not opened for writing',
      expect.stringContaining('did not give'),
    ]);
    expect(
      h
        .targetPackets()
        .map((p) => p.type)
        .slice(-1),
    ).toEqual([FXP.REMOVE]);
  });

  it('refuses unknown request types (OP_UNSUPPORTED) and ends on a length past the bound', async () => {
    const h = await started();
    h.f.clientData(packet(77, u32(3), str('x')));
    const reply = h.clientPackets().at(-1)!.bytes;
    expect(new DataView(reply.buffer).getUint32(9)).toBe(FX.OP_UNSUPPORTED);
    const sent = h.targetPackets().length;
    h.f.clientData(cat(u32(MAX_PACKET + 1), Uint8Array.of(FXP.WRITE), remove(4, '/x')));
    await settle();
    expect(h.violations).toEqual([expect.stringContaining('SFTP packet')]);
    expect(h.targetPackets()).toHaveLength(sent);
  });

  it('ends a client that sends past its window while a request waits', async () => {
    const h = await started(() => new Promise(() => undefined));
    h.f.clientData(remove(2, '/x'));
    for (let i = 0; i < 80 && h.violations.length === 0; i++) h.f.clientData(write(100 + i, 'H', 32_000));
    expect(h.violations).toEqual(['the client sent past its channel window']);
  });

  it('ends the channel when a decision cannot be made', async () => {
    const h = await started(() => Promise.reject(new Error('boom')));
    h.f.clientData(remove(2, '/x'));
    await settle();
    expect(h.violations).toEqual(['SFTP decision failed: boom']);
    expect(h.targetPackets().map((p) => p.type)).not.toContain(FXP.REMOVE);
  });
});

describe('SFTP filter on hostile, chunked input (property)', () => {
  const conversation = () => [
    init(),
    open(2, 'a', PFLAG.READ),
    write(3, 'H'),
    remove(4, '/etc/passwd'),
    packet(FXP.RENAME, u32(5), str('/a/../etc'), str('b')),
    packet(FXP.EXTENDED, u32(6), str('nope')),
    packet(77),
    remove(8, '/tmp/ok'),
  ];

  it('forwards only allowed whole requests, gives every client byte back once, never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.constantFrom(...conversation())), {
          maxLength: 12,
        }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (parts, cuts) => {
          const h = harness((r) =>
            'path' in r && r.path.startsWith('/etc') ? { ok: false, message: 'no' } : { ok: true },
          );
          const whole = cat(init(), ...parts);
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          let prev = 0;
          for (const p of [...points, whole.length]) {
            h.f.clientData(whole.subarray(prev, p));
            prev = p;
            await settle();
          }
          h.f.targetData(cat(version(), name(OWN, '/h')));
          await settle();
          for (const p of h.targetPackets()) {
            expect([FXP.INIT, FXP.REALPATH, FXP.OPEN, FXP.REMOVE, FXP.RENAME]).toContain(p.type);
            if (p.type === FXP.REMOVE || p.type === FXP.RENAME) expect(pathOf(p.bytes)).not.toMatch(/^\/etc/);
          }
          // What the client spent is given back exactly once: every byte of its whole packets
          // (a partial one at the end waits for the rest).
          const framer = new SftpFramer();
          const packets = framer.push(whole);
          if (framer.error === undefined) {
            expect(h.violations).toEqual([]);
            expect(h.counted()).toBe(packets.reduce((n, p) => n + p.length + 4, 0));
          } else expect(h.violations).not.toEqual([]);
        },
      ),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 150) },
    );
  });
});
