import { describe, expect, it } from 'vitest';
import { cat, msg, startup, untyped } from '../../test/support/pg-bytes.ts';
import { sessionHarness } from '../../test/support/session-harness.ts';
import type { PgSessionConfig } from './types.ts';
import {
  cstring as cstr,
  int32,
  parseErrorFields,
  parseBackendKeyData,
  sslRequest as sslRequestMessage,
} from '../pg/messages.ts';
import { MessageFramer } from '../pg/framer.ts';
import { parseStartupPacket } from '../pg/startup.ts';

// ---- byte builders for what a server and a client send ----------------------------------------
const enc = new TextEncoder();
const sslRequest = sslRequestMessage();
const authOk = msg('R', int32(0));
const authCleartext = msg('R', int32(3));
const paramStatus = (k: string, v: string) => msg('S', cat(cstr(k), cstr(v)));
const keyData = msg('K', cat(int32(4242), int32(777)));
const ready = msg('Z', enc.encode('I'));
const query = (sql: string) => msg('Q', cstr(sql));

// ---- harness -----------------------------------------------------------------------------------
const harness = (extra: Partial<PgSessionConfig> = {}) =>
  sessionHarness({ gatewayKey: { processId: 99, secretKey: 123456 }, ...extra });
const flush = () => new Promise((r) => setTimeout(r, 0));

async function readySession() {
  const h = harness();
  h.session.clientData(startup({ user: 'someone', database: 'whatever', application_name: 'psql' }));
  h.session.upstreamOpen('s3cret');
  h.session.upstreamData(cat(authCleartext));
  await flush();
  h.session.upstreamData(cat(authOk, paramStatus('server_version', '15.0'), keyData, ready));
  await flush();
  return h;
}

describe('PgSession startup', () => {
  it('answers SSLRequest with N and waits for the StartupMessage', () => {
    const h = harness();
    h.session.clientData(sslRequest);
    expect(h.toClient).toEqual([new Uint8Array([0x4e])]);
    expect(h.toUpstream).toHaveLength(0);
  });

  it('sends the injected user and database upstream, never the client-supplied ones', () => {
    const h = harness();
    h.session.upstreamOpen('pw');
    h.session.clientData(
      startup({
        user: 'mallory',
        database: 'postgres',
        application_name: 'psql',
        client_encoding: 'UTF8',
      }),
    );
    expect(h.toUpstream).toHaveLength(1);
    const packet = parseStartupPacket(h.toUpstream[0]!.subarray(4));
    expect(packet).toEqual({
      kind: 'startup',
      protocol: 196608,
      // client_encoding is always UTF8: policy reads SQL as the server does
      // (core/pg-session/startup-options.test.ts: other encodings are refused).
      params: { user: 'app', database: 'appdb', client_encoding: 'UTF8', application_name: 'psql' },
    });
  });

  it('authenticates upstream with the credential and gives the client its own cancel key', async () => {
    const h = await readySession();
    // Cleartext password reply went upstream.
    const pw = h.toUpstream[1]!;
    expect(String.fromCharCode(pw[0]!)).toBe('p');
    expect(new TextDecoder().decode(pw.subarray(5, -1))).toBe('s3cret');
    const frames = h.clientFrames();
    expect(frames.map((f) => String.fromCharCode(f.type)).join('')).toBe('RSKZ');
    expect(parseBackendKeyData(frames[2]!.body)).toEqual({ processId: 99, secretKey: 123456 });
    expect(h.session.upstreamKey).toEqual({ processId: 4242, secretKey: 777 });
    expect(h.session.phase).toBe('proxy');
  });

  it('bounds what the target may send while an authentication step runs', () => {
    const h = harness();
    h.session.clientData(startup({ user: 'someone', database: 'whatever' }));
    h.session.upstreamOpen('s3cret');
    h.session.upstreamData(cat(authCleartext)); // the step is asynchronous: what follows waits
    h.session.upstreamData(new Uint8Array(600_000));
    expect(h.ended).toEqual([]);
    h.session.upstreamData(new Uint8Array(600_000));
    expect(h.ended).toEqual([
      { kind: 'upstream-protocol', detail: 'target sent too much during authentication' },
    ]);
  });

  it('refuses replication connections with a clear error', () => {
    const h = harness();
    h.session.upstreamOpen('pw');
    h.session.clientData(startup({ user: 'x', replication: 'database' }));
    const err = parseErrorFields(h.clientFrames()[0]!.body);
    expect(err['M']).toContain('replication');
    expect(h.ended[0]?.kind).toBe('startup-refused');
  });

  it('reports a CancelRequest and ends without touching the upstream', () => {
    const h = harness();
    h.session.clientData(untyped(cat(int32(80877102), int32(4242), int32(99))));
    expect(h.cancels).toEqual([{ processId: 4242, secretKey: 99 }]);
    expect(h.ended[0]?.kind).toBe('cancel-request');
    expect(h.toUpstream).toHaveLength(0);
  });

  it('maps an upstream auth failure to a generic error without the upstream detail', async () => {
    const h = harness();
    h.session.clientData(startup({ user: 'x' }));
    h.session.upstreamOpen('wrong');
    h.session.upstreamData(authCleartext);
    await flush();
    h.session.upstreamData(
      msg(
        'E',
        cat(
          cstr('SFATAL'),
          cstr('C28P01'),
          cstr('Mpassword authentication failed for user "app"'),
          new Uint8Array([0]),
        ),
      ),
    );
    await flush();
    const err = parseErrorFields(h.clientFrames()[0]!.body);
    expect(err['C']).toBe('28000');
    expect(err['M']).not.toContain('"app"');
    expect(h.ended[0]).toMatchObject({ kind: 'upstream-auth' });
  });

  it('holds a channel failure until the client has sent its StartupMessage', () => {
    const h = harness();
    h.session.clientData(sslRequest);
    h.session.channelFailed({ kind: 'channel-failed', detail: 'target not allowed' });
    expect(h.toClient).toEqual([new Uint8Array([0x4e])]); // only the SSL answer so far
    expect(h.ended).toHaveLength(0);
    h.session.clientData(startup({ user: 'x' }));
    const err = parseErrorFields(
      new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(h.toClient[1]!)[0]!.body,
    );
    expect(err['M']).toContain('target not allowed');
    expect(h.ended[0]?.kind).toBe('channel-failed');
  });

  it('holds queries a client pipelines before the session is ready, then sends them in order', async () => {
    const h = harness();
    h.session.clientData(cat(startup({ user: 'x' }), query('select 1'), query('select 2')));
    h.session.upstreamOpen('pw');
    h.session.upstreamData(authOk);
    await flush();
    expect(h.toUpstream).toHaveLength(1); // only the StartupMessage so far
    h.session.upstreamData(ready);
    await flush();
    expect(h.toUpstream[1]).toEqual(cat(query('select 1'), query('select 2')));
  });
});

describe('PgSession proxying', () => {
  it('forwards client messages split across chunks as whole messages', async () => {
    const h = await readySession();
    const before = h.toUpstream.length;
    const q = cat(query('select 1'), query('select 22'));
    for (const cut of [1, 3, 7, q.length - 1]) {
      h.session.clientData(q.subarray(0, cut));
      h.session.clientData(q.subarray(cut));
    }
    const sent = cat(...h.toUpstream.slice(before));
    expect(sent).toEqual(cat(q, q, q, q));
    expect(h.session.stats.statements).toBe(8);
  });

  it('forwards server messages to the client unchanged', async () => {
    const h = await readySession();
    const n = h.toClient.length;
    const rows = cat(
      msg('T', new Uint8Array(2)),
      msg('D', new Uint8Array(6)),
      msg('C', cstr('SELECT 1')),
      ready,
    );
    h.session.upstreamData(rows.subarray(0, 4));
    h.session.upstreamData(rows.subarray(4));
    expect(cat(...h.toClient.slice(n))).toEqual(rows);
  });

  it('ends the session with a protocol error on a bogus client message type', async () => {
    const h = await readySession();
    h.session.clientData(msg('p', cstr('password-after-auth')));
    const frames = h.clientFrames();
    const err = parseErrorFields(frames[frames.length - 1]!.body);
    expect(err['C']).toBe('08P01');
    expect(h.ended[0]?.kind).toBe('client-protocol');
  });

  it('ends cleanly with an error when a client announces an oversized message', async () => {
    const h = await readySession();
    const huge = new Uint8Array(5);
    huge[0] = 0x51;
    new DataView(huge.buffer).setInt32(1, 0x7fffffff);
    h.session.clientData(huge);
    expect(h.ended[0]?.kind).toBe('client-protocol');
  });

  it('passes Terminate upstream and ends', async () => {
    const h = await readySession();
    h.session.clientData(msg('X'));
    expect(h.toUpstream[h.toUpstream.length - 1]).toEqual(msg('X'));
    expect(h.ended[0]?.kind).toBe('client-terminate');
  });
});

describe('the backstop: the server says how it reads SQL', () => {
  const reading = (scs = 'on', enc = 'UTF8') =>
    cat(paramStatus('client_encoding', enc), paramStatus('standard_conforming_strings', scs));
  const checked: string[] = [];
  const checker = { check: (sql: string) => (checked.push(sql), { allowed: true, message: '' }) };
  const lastError = (h: ReturnType<typeof harness>) => {
    const frames = h.clientFrames();
    return parseErrorFields(frames[frames.length - 1]!.body);
  };
  async function starting(extra: Partial<PgSessionConfig> = {}) {
    const h = harness({ checker, ...extra });
    h.session.clientData(startup({ user: 'x' }));
    h.session.upstreamOpen('pw');
    h.session.upstreamData(authOk);
    await flush();
    return h;
  }

  it('ends a session whose target starts with standard_conforming_strings off, before it is ready', async () => {
    const h = await starting();
    h.session.upstreamData(cat(reading('off'), keyData, ready));
    expect(h.clientFrames().map((f) => String.fromCharCode(f.type))).toEqual(['E']);
    expect(lastError(h)).toMatchObject({ S: 'FATAL', C: '0A000' });
    expect(lastError(h)['M']).toContain('standard_conforming_strings = "off"');
    expect(h.ended[0]?.kind).toBe('reading-changed');
  });

  it('ends it when a policy-checked target never says, and not when it says both', async () => {
    const silent = await starting();
    silent.session.upstreamData(cat(paramStatus('client_encoding', 'UTF8'), keyData, ready));
    expect(lastError(silent)['M']).toContain('did not report standard_conforming_strings');
    const fine = await starting();
    fine.session.upstreamData(cat(reading(), keyData, ready));
    expect(fine.session.phase).toBe('proxy');
  });

  it("watches the gateway's own catalog read too", async () => {
    const done: unknown[] = [];
    const h = await starting({ preflight: [{ sql: 'select 1', done: (rows) => done.push(rows) }] });
    h.session.upstreamData(cat(reading(), keyData, ready));
    expect(h.session.phase).toBe('startup');
    h.session.upstreamData(cat(paramStatus('client_encoding', 'SJIS'), msg('C', cstr('SELECT 0')), ready));
    expect(h.ended[0]?.kind).toBe('reading-changed');
    expect(done).toEqual([]);
  });

  it('ends the session mid-way, forwarding nothing of the chunk that reports the change', async () => {
    for (const [name, value] of [
      ['standard_conforming_strings', 'off'],
      ['client_encoding', 'SJIS'],
    ]) {
      const h = await starting();
      h.session.upstreamData(cat(reading(), keyData, ready));
      const before = h.toClient.length;
      h.session.clientData(query('select flip()'));
      h.session.upstreamData(
        cat(msg('T', new Uint8Array(2)), msg('D', new Uint8Array(6)), msg('C', cstr('SELECT 1'))),
      );
      h.session.upstreamData(cat(msg('D', new Uint8Array(6)), paramStatus(name!, value!), ready));
      const out = new MessageFramer({ maxMessageBytes: 1 << 20, startup: false }).push(
        cat(...h.toClient.slice(before)),
      );
      // The first chunk went; the one with the report did not: only the FATAL follows it.
      expect(out.map((f) => String.fromCharCode(f.type)).join('')).toBe('TDCE');
      expect(parseErrorFields(out[3]!.body)).toMatchObject({ S: 'FATAL', C: '0A000' });
      expect(h.ended[0]?.kind).toBe('reading-changed');
      h.session.clientData(query('select 2'));
      expect(checked.at(-1)).toBe('select flip()');
    }
  });

  it('lets other reports through', async () => {
    const h = await starting();
    h.session.upstreamData(cat(reading(), keyData, ready));
    const before = h.toClient.length;
    const chunk = cat(paramStatus('application_name', 'x'), paramStatus('client_encoding', 'UTF8'), ready);
    h.session.upstreamData(chunk);
    expect(cat(...h.toClient.slice(before))).toEqual(chunk);
    expect(h.session.phase).toBe('proxy');
  });
});
