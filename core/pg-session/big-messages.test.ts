import { describe, expect, it } from 'vitest';
import { PgSession } from './session.ts';
import type { PgSessionConfig } from './types.ts';
import type { CloseReason } from './close-reason.ts';
import type { StatementVerdict } from './checker.ts';
import { MessageFramer, type PgFrame } from '../pg/framer.ts';
import { cstring as cstr, int32, parseErrorFields, query, typedMessage } from '../pg/messages.ts';
import { MAX_ALLOC_SIZE } from '../pg/limits.ts';
import { cat, copiesDuring, startup as startupMessageOf } from '../../test/support/pg-bytes.ts';

const enc = new TextEncoder();
const startup = startupMessageOf({ user: 'x' });
const ready = typedMessage('Z', enc.encode('I'));
const rowDescription = (name: string, typeOid: number) =>
  typedMessage(
    'T',
    cat(
      new Uint8Array([0, 1]),
      cstr(name),
      int32(0),
      new Uint8Array([0, 0]),
      int32(typeOid),
      new Uint8Array([255, 255]),
      int32(-1),
      new Uint8Array([0, 0]),
    ),
  );
const commandComplete = typedMessage('C', cstr('SELECT 1'));

/** A running digest of bytes in order (so equal streams are recognised without keeping them). */
class Digest {
  n = 0;
  h = 0;
  add(b: Uint8Array): void {
    for (let i = 0; i < b.length; i++) this.h = (Math.imul(this.h, 31) + b[i]!) | 0;
    this.n += b.length;
  }
}

/** A session through startup, with a checker that allows everything; io counts, never copies. */
async function readySession(extra: Partial<PgSessionConfig> = {}) {
  const toClient = new Digest();
  const clientMessages: Uint8Array[] = [];
  const upstream = new Digest();
  const upstreamKept: Uint8Array[] = [];
  const ended: CloseReason[] = [];
  let keep = true;
  const checker = { check: (): StatementVerdict => ({ allowed: true, message: '' }) };
  const session = new PgSession(
    {
      upstreamUser: 'app',
      upstreamDatabase: 'appdb',
      gatewayKey: { processId: 1, secretKey: 2 },
      maxMessageBytes: MAX_ALLOC_SIZE,
      checker,
      ...extra,
    },
    {
      toClient: (b) => {
        toClient.add(b);
        if (keep) clientMessages.push(b.slice());
      },
      toUpstream: (b) => {
        upstream.add(b);
        if (keep && b.length < 1 << 16) upstreamKept.push(b.slice());
      },
      end: (r) => ended.push(r),
      cancelRequested: () => undefined,
    },
  );
  session.clientData(startup);
  session.upstreamOpen('pw');
  const param = (k: string, v: string) => typedMessage('S', cat(cstr(k), cstr(v)));
  session.upstreamData(
    cat(
      typedMessage('R', int32(0)),
      param('client_encoding', 'UTF8'),
      param('standard_conforming_strings', 'on'),
      ready,
    ),
  );
  await new Promise((r) => setTimeout(r, 0));
  expect(session.phase).toBe('proxy');
  clientMessages.length = 0;
  upstreamKept.length = 0;
  return {
    session,
    ended,
    clientMessages,
    upstreamKept,
    toClient,
    upstream,
    /** Stop keeping copies of what goes out (so copies counted are the session's own). */
    quiet: () => (keep = false),
  };
}

/** `total` bytes of a message body in `chunk`-sized pieces of one reused buffer. */
function* bodyChunks(total: number, chunk: number, fill: number): Generator<Uint8Array> {
  const buf = new Uint8Array(chunk).fill(fill);
  for (let sent = 0; sent < total; sent += chunk) yield buf.subarray(0, Math.min(chunk, total - sent));
}

const frames = (bytes: Uint8Array): PgFrame[] =>
  new MessageFramer({ maxMessageBytes: MAX_ALLOC_SIZE, startup: false }).push(bytes);

describe('big messages through a session', () => {
  it('streams a 100 MB DataRow of an unmasked result to the client in pieces, copying none of it', async () => {
    const h = await readySession();
    h.session.clientData(query('SELECT b FROM t'));
    h.session.upstreamData(rowDescription('b', 17));
    h.quiet();
    const value = 100 * 1024 * 1024;
    const head = cat(new Uint8Array([0x44]), int32(4 + 2 + 4 + value), new Uint8Array([0, 1]), int32(value));
    const sent = new Digest();
    const before = h.toClient.n;
    const copied = copiesDuring(() => {
      sent.add(head);
      h.session.upstreamData(head);
      for (const c of bodyChunks(value, 64 * 1024, 0x61)) {
        sent.add(c);
        h.session.upstreamData(c);
      }
      const tail = cat(commandComplete, ready);
      sent.add(tail);
      h.session.upstreamData(tail);
    });
    expect(h.ended).toEqual([]);
    expect(h.toClient.n - before).toBe(sent.n);
    // Only the 5-byte header and the small messages around it are ever copied: not the row.
    expect(copied).toBeLessThan(1024);
  });

  it('passes a 1 GB DataRow (the most a server sends) and refuses a longer one as malformed', async () => {
    const h = await readySession();
    h.session.clientData(query('SELECT b FROM t'));
    h.session.upstreamData(rowDescription('b', 17));
    h.quiet();
    const value = MAX_ALLOC_SIZE - 4 - 2 - 4 - 1;
    h.session.upstreamData(
      cat(new Uint8Array([0x44]), int32(4 + 2 + 4 + value), new Uint8Array([0, 1]), int32(value)),
    );
    for (const c of bodyChunks(value, 1 << 20, 0x62)) h.session.upstreamData(c);
    h.session.upstreamData(cat(commandComplete, ready));
    expect(h.ended).toEqual([]);
    h.session.upstreamData(cat(new Uint8Array([0x44]), int32(MAX_ALLOC_SIZE + 1)));
    expect(h.ended.map((r) => r.kind)).toEqual(['upstream-protocol']);
  });

  it('streams client COPY data of 50 MB to the target as it comes, copying none of it', async () => {
    const h = await readySession();
    h.session.clientData(query('COPY t FROM STDIN'));
    h.session.upstreamData(typedMessage('G', new Uint8Array([0, 0, 0])));
    h.quiet();
    const size = 50 * 1024 * 1024;
    const sent = new Digest();
    const before = h.upstream.n;
    const copied = copiesDuring(() => {
      const head = cat(new Uint8Array([0x64]), int32(4 + size));
      sent.add(head);
      h.session.clientData(head);
      for (const c of bodyChunks(size, 64 * 1024, 0x63)) {
        sent.add(c);
        h.session.clientData(c);
      }
    });
    expect(h.ended).toEqual([]);
    expect(h.upstream.n - before).toBe(sent.n);
    expect(h.upstream.h).not.toBe(0);
    expect(copied).toBeLessThan(1024);
  });

  it('refuses a Query larger than it holds before any byte reaches the target, and goes on', async () => {
    const h = await readySession({ maxHeldMessageBytes: 1024 * 1024 });
    const sql = 3 * 1024 * 1024;
    const before = h.upstream.n;
    h.session.clientData(cat(new Uint8Array([0x51]), int32(4 + sql + 1)));
    for (const c of bodyChunks(sql, 64 * 1024, 0x20)) h.session.clientData(c);
    h.session.clientData(cat(new Uint8Array([0]), query('SELECT 1')));
    expect(h.ended).toEqual([]);
    // Only the next statement went to the target.
    expect(h.upstream.n - before).toBe(query('SELECT 1').length);
    const answer = frames(cat(...h.clientMessages));
    expect(answer.map((f) => String.fromCharCode(f.type))).toEqual(['E', 'Z']);
    const error = parseErrorFields(answer[0]!.body);
    expect(error['M']).toMatch(/3\.0 MB is more than Postern holds to check \(1\.0 MB\)/);
    expect(error['M']).toMatch(/COPY \.\.\. FROM STDIN/);
  });

  it('refuses a Bind larger than it holds with its batch, answering at Sync, and goes on', async () => {
    const h = await readySession({ maxHeldMessageBytes: 1024 * 1024 });
    h.session.clientData(
      typedMessage('P', cat(cstr('s'), cstr('INSERT INTO t VALUES ($1)'), new Uint8Array([0, 0]))),
    );
    const value = 2 * 1024 * 1024;
    const before = h.upstream.n;
    h.session.clientData(
      cat(
        new Uint8Array([0x42]),
        int32(4 + 1 + 2 + 2 + 2 + 4 + value + 2),
        cstr(''),
        cstr('s').subarray(0, 1),
      ),
    );
    h.session.clientData(cat(new Uint8Array([0]), new Uint8Array([0, 0, 0, 1]), int32(value)));
    for (const c of bodyChunks(value, 64 * 1024, 0x41)) h.session.clientData(c);
    h.session.clientData(
      cat(new Uint8Array([0, 0]), typedMessage('E', cat(cstr(''), int32(0))), typedMessage('S')),
    );
    expect(h.ended).toEqual([]);
    // The Parse went before; of the rest only the Sync goes (the target answers the Parse,
    // the gateway's error comes before its ReadyForQuery), never a byte of the Bind.
    expect(h.upstreamKept.at(-1)).toEqual(typedMessage('S'));
    expect(h.upstream.n - before).toBe(5);
  });

  it('holds a big message it must read (a notice) once, bounded by the message', async () => {
    const h = await readySession();
    h.session.clientData(query('SELECT 1'));
    const text = 2 * 1024 * 1024;
    const notice = typedMessage(
      'N',
      cat(new Uint8Array([0x4d]), new Uint8Array(text).fill(0x6e), new Uint8Array([0, 0])),
    );
    h.quiet();
    const copied = copiesDuring(() => {
      for (let o = 0; o < notice.length; o += 64 * 1024)
        h.session.upstreamData(notice.subarray(o, o + 64 * 1024));
    });
    expect(h.ended).toEqual([]);
    // Assembled in a buffer grown by doubling: under twice the message, never once per chunk.
    expect(copied).toBeLessThan(2 * notice.length);
  });

  it('ends the session with an error naming the limit when a message it must read is larger', async () => {
    const h = await readySession({ maxHeldMessageBytes: 1024 * 1024 });
    h.session.clientData(query('SELECT 1'));
    h.session.upstreamData(cat(new Uint8Array([0x4e]), int32(4 + 3 * 1024 * 1024)));
    expect(h.ended.map((r) => r.kind)).toEqual(['too-large']);
    const error = parseErrorFields(frames(cat(...h.clientMessages)).at(-1)!.body);
    expect(error['C']).toBe('54000');
    expect(error['M']).toMatch(/3\.0 MB; Postern reads such messages up to 1\.0 MB/);
  });
});
