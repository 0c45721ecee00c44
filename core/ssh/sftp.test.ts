import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FX, FXP, MAX_PACKET, PFLAG } from './sftp-packets.ts';
import { resolvePath } from './sftp-paths.ts';
import { MAX_PENDING, SftpReader, type SftpRequest } from './sftp.ts';

const enc = new TextEncoder();

/** Byte builders for SFTP packets (uint32 length, byte type, fields). */
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
const ATTRS_NONE = u32(0);
const init = () => packet(FXP.INIT, u32(3));
const realpath = (id: number, p: string) => packet(FXP.REALPATH, u32(id), str(p));
const name = (id: number, p: string) => packet(FXP.NAME, u32(id), u32(1), str(p), str(p), ATTRS_NONE);
const open = (id: number, p: string, flags: number) =>
  packet(FXP.OPEN, u32(id), str(p), u32(flags), ATTRS_NONE);
const handle = (id: number, h: string) => packet(FXP.HANDLE, u32(id), str(h));
const read = (id: number, h: string) => packet(FXP.READ, u32(id), str(h), u32(0), u32(0), u32(32768));
const write = (id: number, h: string, data: Uint8Array) =>
  packet(FXP.WRITE, u32(id), str(h), u32(0), u32(0), str(data));
const close = (id: number, h: string) => packet(FXP.CLOSE, u32(id), str(h));
const extended = (id: number, ext: string, ...fields: Uint8Array[]) =>
  packet(FXP.EXTENDED, u32(id), str(ext), ...fields);

/** A reader past INIT and REALPATH ".", with the server's home `/home/deploy`. */
function session(): SftpReader {
  const r = new SftpReader();
  // The start directory's name is learned without a decision (it reads no file).
  expect(r.clientData(cat(init(), realpath(1, '.')))[1]!.operations).toEqual([]);
  r.serverData(name(1, '/home/deploy'));
  return r;
}

const one = (r: SftpReader, bytes: Uint8Array): SftpRequest => {
  const out = r.clientData(bytes);
  expect(out).toHaveLength(1);
  return out[0]!;
};
const statusCode = (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset).getUint32(9);

describe('SFTP requests as operations', () => {
  it('maps an upload and a download to writes and reads on their paths, and nothing per READ/WRITE', () => {
    const r = session();
    const up = one(r, open(2, 'up.bin', PFLAG.WRITE | PFLAG.CREAT | PFLAG.TRUNC));
    expect(up.operations).toEqual([{ access: 'write', operation: 'write', path: '/home/deploy/up.bin' }]);
    // The target is asked for the path policy decided: absolute, normalized.
    expect(up.packet).toEqual(open(2, '/home/deploy/up.bin', PFLAG.WRITE | PFLAG.CREAT | PFLAG.TRUNC));
    expect(up.size).toBe(open(2, 'up.bin', 0).length);
    r.serverData(handle(2, 'H-up'));
    expect(one(r, write(3, 'H-up', new Uint8Array(1000))).operations).toEqual([]);
    expect(one(r, close(4, 'H-up')).operations).toEqual([]);

    const down = one(r, open(5, '/etc/../etc/hostname', PFLAG.READ));
    expect(down.operations).toEqual([{ access: 'read', operation: 'read', path: '/etc/hostname' }]);
    r.serverData(handle(5, 'H-down'));
    expect(one(r, read(6, 'H-down')).refusal).toBeUndefined();
  });

  it('refuses a handle used against how it was opened, or one the server never gave', () => {
    const r = session();
    one(r, open(2, '/etc/passwd', PFLAG.READ));
    r.serverData(handle(2, 'H'));
    const w = one(r, write(3, 'H', enc.encode('x')));
    expect(w.refusal?.reason).toContain('not opened for writing');
    expect(statusCode(w.refusal!.reply)).toBe(FX.FAILURE);
    expect(one(r, read(4, 'forged')).refusal?.reason).toContain('did not give');
    one(r, close(5, 'H'));
    expect(one(r, read(6, 'H')).refusal).toBeDefined();
  });

  it('decides both paths of a rename, link or symlink as writes', () => {
    const r = session();
    for (const [bytes, op] of [
      [packet(FXP.RENAME, u32(2), str('/tmp/a'), str('/home/deploy/.ssh/authorized_keys')), 'rename'],
      [extended(3, 'posix-rename@openssh.com', str('a'), str('b')), 'rename'],
      [extended(4, 'hardlink@openssh.com', str('/etc/shadow'), str('/tmp/s')), 'link'],
      [packet(FXP.SYMLINK, u32(5), str('/etc/shadow'), str('/tmp/l')), 'symlink'],
    ] as const) {
      const req = one(r, bytes);
      expect(req.operations.map((o) => [o.access, o.operation])).toEqual([
        ['write', op],
        ['write', op],
      ]);
    }
  });

  it('maps listings, stats and changes', () => {
    const r = session();
    const ops = (b: Uint8Array) => one(r, b).operations.map((o) => `${o.access} ${o.operation} ${o.path}`);
    expect(ops(packet(FXP.OPENDIR, u32(2), str('/srv')))).toEqual(['read list /srv']);
    r.serverData(handle(2, 'D'));
    expect(ops(packet(FXP.READDIR, u32(3), str('D')))).toEqual([]);
    expect(one(r, read(4, 'D')).refusal).toBeDefined();
    expect(ops(packet(FXP.STAT, u32(5), str('x')))).toEqual(['read stat /home/deploy/x']);
    expect(ops(packet(FXP.LSTAT, u32(6), str('/x')))).toEqual(['read stat /x']);
    expect(ops(packet(FXP.READLINK, u32(7), str('/l')))).toEqual(['read readlink /l']);
    expect(ops(packet(FXP.SETSTAT, u32(8), str('/x'), ATTRS_NONE))).toEqual(['write setstat /x']);
    expect(ops(packet(FXP.REMOVE, u32(9), str('/x')))).toEqual(['write remove /x']);
    expect(ops(packet(FXP.MKDIR, u32(10), str('d'), ATTRS_NONE))).toEqual(['write mkdir /home/deploy/d']);
    expect(ops(packet(FXP.RMDIR, u32(11), str('/d')))).toEqual(['write rmdir /d']);
    expect(ops(extended(12, 'statvfs@openssh.com', str('/')))).toEqual(['read stat /']);
    expect(ops(extended(13, 'limits@openssh.com'))).toEqual([]);
    expect(ops(extended(14, 'expand-path@openssh.com', str('~/x')))).toEqual(['read realpath ~/x']);
    one(r, open(15, '/f', PFLAG.READ));
    r.serverData(handle(15, 'F'));
    expect(ops(packet(FXP.FSETSTAT, u32(16), str('F'), ATTRS_NONE))).toEqual(['write setstat /f']);
    expect(one(r, extended(17, 'fsync@openssh.com', str('F'))).refusal).toBeDefined();
    const both = one(r, open(18, '/g', PFLAG.READ | PFLAG.WRITE));
    expect(both.operations.map((o) => o.access)).toEqual(['write', 'read']);
  });

  it('refuses what it does not know, malformed requests and NUL bytes in paths, and goes on', () => {
    const r = session();
    const unknown = one(r, packet(99, u32(2), str('x')));
    expect(statusCode(unknown.refusal!.reply)).toBe(FX.OP_UNSUPPORTED);
    const ext = one(r, extended(3, 'exec@evil.example', str('rm -rf /')));
    expect(statusCode(ext.refusal!.reply)).toBe(FX.OP_UNSUPPORTED);
    const short = one(r, packet(FXP.OPEN, u32(4), u32(1000)));
    expect(statusCode(short.refusal!.reply)).toBe(FX.BAD_MESSAGE);
    const nul = one(r, packet(FXP.REMOVE, u32(5), str('/tmp/x\0/../../etc/passwd')));
    expect(nul.refusal?.reason).toContain('NUL');
    // The reply is a well-formed STATUS for the request's id.
    const reply = nul.refusal!.reply;
    expect(reply[4]).toBe(FXP.STATUS);
    expect(new DataView(reply.buffer).getUint32(0)).toBe(reply.length - 4);
    expect(new DataView(reply.buffer).getUint32(5)).toBe(5);
    expect(one(r, packet(FXP.STAT, u32(6), str('/ok'))).operations).toHaveLength(1);
    expect(r.error).toBeUndefined();
  });

  it('ends the stream on a length past the bound', () => {
    const r = session();
    expect(r.clientData(cat(u32(MAX_PACKET + 1), Uint8Array.of(FXP.WRITE)))).toEqual([]);
    expect(r.error).toContain('SFTP packet');
    expect(r.clientData(packet(FXP.STAT, u32(1), str('/')))).toEqual([]);
  });

  it('bounds the requests waiting for an answer', () => {
    const r = session();
    for (let id = 10; id < 10 + MAX_PENDING; id++)
      expect(one(r, open(id, '/f', PFLAG.READ)).refusal).toBeUndefined();
    expect(one(r, open(1_000_000, '/f', PFLAG.READ)).refusal?.reason).toContain('waiting');
  });

  it('reads relative paths from an unknown start directory as ~, never as inside it', () => {
    expect(resolvePath('.ssh/authorized_keys', undefined)).toBe('~/.ssh/authorized_keys');
    expect(resolvePath('../../etc/passwd', undefined)).toBe('~/../../etc/passwd');
    expect(resolvePath('../../etc/passwd', '/home/deploy')).toBe('/etc/passwd');
    expect(resolvePath('/../../x//y/./z/..', '/h')).toBe('/x/y');
    const r = new SftpReader();
    expect(one(r, packet(FXP.REMOVE, u32(1), str('x'))).operations[0]!.path).toBe('~/x');
  });

  it('refuses a reused id, a path that is not UTF-8 and a climb above an unknown start directory', () => {
    const r = session();
    one(r, open(2, '/a', PFLAG.READ));
    expect(one(r, open(2, '/b', PFLAG.READ)).refusal?.reason).toContain('already waiting');
    r.forget(2);
    expect(one(r, open(2, '/b', PFLAG.READ)).refusal).toBeUndefined();
    const latin = one(r, packet(FXP.REMOVE, u32(3), str(Uint8Array.of(47, 0xe9))));
    expect(latin.refusal?.reason).toContain('not UTF-8');
    expect(statusCode(latin.refusal!.reply)).toBe(FX.PERMISSION_DENIED);
    const fresh = new SftpReader();
    const climb = one(fresh, packet(FXP.REMOVE, u32(1), str('a/../../etc/passwd')));
    expect(climb.refusal?.reason).toContain('above the start directory');
    // Inside it, a relative path is forwarded relative (the server resolves it as policy did).
    const inside = one(fresh, packet(FXP.REMOVE, u32(2), str('./a//b/../c')));
    expect(inside.operations[0]!.path).toBe('~/a/c');
    expect(inside.packet).toEqual(packet(FXP.REMOVE, u32(2), str('a/c')));
  });

  it("decides a symlink's target from the link's directory and forwards it as it is", () => {
    const r = session();
    const req = one(r, packet(FXP.SYMLINK, u32(2), str('../../etc/shadow'), str('up/l')));
    expect(req.operations.map((o) => o.path)).toEqual(['/home/etc/shadow', '/home/deploy/up/l']);
    expect(req.packet).toEqual(
      packet(FXP.SYMLINK, u32(2), str('../../etc/shadow'), str('/home/deploy/up/l')),
    );
  });

  it('asks a read for an open that creates without WRITE (sftp-server opens it O_RDONLY)', () => {
    const r = session();
    const req = one(r, open(2, '/f', PFLAG.CREAT));
    expect(req.operations.map((o) => `${o.access} ${o.operation}`)).toEqual(['write write', 'read read']);
    r.serverData(handle(2, 'C'));
    expect(one(r, write(3, 'C', enc.encode('x'))).refusal?.reason).toContain('not opened for writing');
    expect(one(r, read(4, 'C')).refusal).toBeUndefined();
  });

  it('skips the server downloads it does not read, split anywhere', () => {
    const r = session();
    one(r, open(2, '/big', PFLAG.READ));
    const data = packet(FXP.DATA, u32(99), str(new Uint8Array(200_000)));
    const answer = cat(data, handle(2, 'B'));
    for (let i = 0; i < answer.length; i += 7919) r.serverData(answer.subarray(i, i + 7919));
    expect(one(r, read(3, 'B')).refusal).toBeUndefined();
  });
});

describe('SFTP reader on hostile and chunked input (property)', () => {
  const conversation = () => [
    init(),
    realpath(1, '.'),
    open(2, 'a', PFLAG.READ),
    read(3, 'H'),
    write(4, 'H', new Uint8Array(300)),
    packet(FXP.RENAME, u32(5), str('/a'), str('b')),
    extended(6, 'nope'),
    packet(77),
  ];

  it('yields the same requests however the client stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        const whole = cat(...conversation());
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const a = new SftpReader();
        const b = new SftpReader();
        const all = a.clientData(whole);
        const pieces: SftpRequest[] = [];
        let prev = 0;
        for (const p of [...points, whole.length]) {
          pieces.push(...b.clientData(whole.subarray(prev, p)));
          prev = p;
        }
        expect(pieces).toEqual(all);
        expect(all).toHaveLength(conversation().length);
      }),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 300) },
    );
  });

  it('never throws on hostile bytes from either side', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...conversation())),
          ),
          {
            maxLength: 40,
          },
        ),
        (steps) => {
          const r = new SftpReader();
          for (const [client, bytes] of steps) {
            if (client) {
              for (const q of r.clientData(bytes))
                expect(q.packet.length).toBeLessThanOrEqual(MAX_PACKET + 4);
            } else r.serverData(bytes);
          }
        },
      ),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 300) },
    );
  });
});
