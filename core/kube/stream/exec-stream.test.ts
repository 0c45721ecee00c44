import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../../cli/wasm-node.ts';
import { CompiledPolicies } from '../../policy/engine.ts';
import { policySubject } from '../../policy/principal.ts';
import { SshOutputMasking } from '../../ssh/module/ssh-output-masking.ts';
import { SshRecordings } from '../../ssh/module/ssh-recordings.ts';
import { recordedChannels } from '../../ssh/recording-events.ts';
import { ExecStream, isCopyCommand, type ExecStreamOptions } from './exec-stream.ts';
import { upstreamSubprotocols } from './subprotocols.ts';
import { alice, ALICE_EMAIL } from '../../../test/support/identities.ts';

beforeAll(async () => {
  await nodeCedar();
});

const enc = new TextEncoder();
const dec = new TextDecoder();
const CARD = '4111 1111 1111 1111';
const msg = (channel: number, text: string | Uint8Array | number[]) => {
  const b = typeof text === 'string' ? enc.encode(text) : text;
  return Uint8Array.from([channel, ...b]);
};

const who = alice({ attributes: ALICE_EMAIL });

/** A session's masking (cards redacted, as a connection naming the detector) and recordings. */
function session(maxBytes = 16 * 1024 * 1024, detectors: Record<string, 'redact'> = { card: 'redact' }) {
  const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
  const masking = new SshOutputMasking(
    { columns: [], detectors },
    // No policy: no `unmask` permit lifts the detectors.
    CompiledPolicies.compile('exec-stream', []),
    policySubject(who, 'kube'),
    'masking-secret',
    'kube',
  );
  let clock = 1_000_000;
  const recordings = new SshRecordings(
    'sess-1',
    maxBytes,
    { audit: (kind, data) => events.push({ kind, data }), now: () => (clock += 10) },
    (e) => {
      throw e;
    },
  );
  const stream = (id: number, o: Partial<ExecStreamOptions> = {}) => {
    const command = o.command ?? ['sh'];
    return new ExecStream({
      protocol: 'v5.channel.k8s.io',
      kind: 'exec',
      command,
      filters: masking.filters({ kind: 'exec', command: command.join(' ') }),
      record: (e) => recordings.record(id, e),
      ...o,
    });
  };
  return { events, masking, recordings, stream };
}

/** What the client would see on stdout, all messages joined. */
function stdout(messages: Uint8Array[]): string {
  return messages
    .filter((m) => m[0] === 1)
    .map((m) => dec.decode(m.subarray(1)))
    .join('');
}

describe('exec/attach streams (v5/v4 channel protocol)', () => {
  it('records stdin, masked stdout, a resize and the exit status as an asciicast `postern sessions replay` reads', () => {
    const { events, stream } = session();
    const s = stream(7, { command: ['sh', '-i'] });
    const sent: Uint8Array[] = [];
    expect(s.fromClient(msg(4, '{"Width":120,"Height":40}'))).toBe(true);
    expect(s.fromClient(msg(0, 'cat /card\r'))).toBe(true);
    // The card is split across three server messages; the client never sees a digit of it.
    for (const part of ['cat /card\r\nnumber: 4111 11', '11 1111 ', '1111\r\n$ '])
      sent.push(...s.fromServer(msg(1, part)));
    sent.push(...s.idle());
    sent.push(...s.fromServer(msg(3, '{"metadata":{},"status":"Success"}')));
    sent.push(...s.finish());
    const seen = stdout(sent);
    expect(seen).toContain('number: ');
    expect(seen).toContain('$ ');
    expect(seen).not.toMatch(/1111/);
    // The error channel's Status comes last, after every held byte.
    expect(sent.at(-1)![0]).toBe(3);

    const [channel] = recordedChannels('sess-1', events);
    expect(channel).toMatchObject({ channel: 7, ok: true, problems: [] });
    const lines = channel!.asciicast.trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2, command: 'sh -i', title: 'exec' });
    const played = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    const text = JSON.stringify(played);
    expect(played.filter((e) => e[1] === 'i').map((e) => e[2])).toEqual(['cat /card\r']);
    expect(played.find((e) => e[1] === 'r')![2]).toBe('120x40');
    expect(text).toContain('cat /card');
    expect(text).toContain('120x40');
    expect(text).not.toContain('1111');
    expect(events.find((e) => e.kind === 'recording_end')!.data).toMatchObject({ status: 0 });
  });

  it('takes the exit status from a NonZeroExitCode Status', () => {
    const { events, stream } = session();
    const s = stream(1, { command: ['false'] });
    s.fromServer(
      msg(
        3,
        JSON.stringify({
          metadata: {},
          status: 'Failure',
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: '3' }] },
        }),
      ),
    );
    s.finish();
    expect(events.find((e) => e.kind === 'recording_end')!.data).toMatchObject({ status: 3 });
  });

  it('masks stderr through its own masker, and a card split at every position of two messages', () => {
    const line = `x ${CARD} y\n`;
    for (let cut = 0; cut <= line.length; cut++) {
      const { stream } = session();
      const s = stream(1);
      const out = [
        ...s.fromServer(msg(2, line.slice(0, cut))),
        ...s.fromServer(msg(2, line.slice(cut))),
        ...s.finish(),
      ];
      const err = out
        .filter((m) => m[0] === 2)
        .map((m) => dec.decode(m.subarray(1)))
        .join('');
      expect(err, `cut at ${cut}`).not.toContain('1111');
      expect(err.startsWith('x ') && err.endsWith(' y\n'), `cut at ${cut}`).toBe(true);
    }
  });

  it('forwards only what a client may send: stdin, a bounded resize, and (v5 only) the close of stdin', () => {
    const { stream } = session();
    const v5 = stream(1);
    expect(v5.fromClient(msg(255, [0]))).toBe(true);
    expect(v5.fromClient(msg(255, [1]))).toBe(false);
    expect(v5.fromClient(new Uint8Array())).toBe(false);
    for (const ch of [1, 2, 3, 5, 254]) expect(v5.fromClient(msg(ch, 'x')), `channel ${ch}`).toBe(false);
    expect(v5.fromClient(msg(4, '{"Width":-1,"Height":2}'))).toBe(false);
    expect(v5.fromClient(msg(4, '{"Width":1e9,"Height":2}'))).toBe(false);
    expect(v5.fromClient(msg(4, 'not json'))).toBe(false);
    expect(v5.fromClient(msg(4, `{"Width":1,"Height":2,"x":"${'a'.repeat(300)}"}`))).toBe(false);
    const v4 = stream(2, { protocol: 'v4.channel.k8s.io' });
    expect(v4.fromClient(msg(255, [0]))).toBe(false);
    expect(v4.fromServer(msg(255, [1]))).toEqual([]);
    // A server message on a channel servers do not write is not passed.
    expect(v5.fromServer(msg(0, 'x'))).toEqual([]);
    expect(v5.fromServer(msg(9, 'x'))).toEqual([]);
  });

  it("leaves kubectl cp's tar archives unmasked and unrecorded (they are files, not text)", () => {
    const { events, stream } = session();
    const tar = enc.encode(`file\0\0\0${CARD}\0`);
    const s = stream(3, { command: ['tar', 'cf', '-', '/data/cards.txt'] });
    const out = [...s.fromServer(msg(1, tar)), ...s.finish()];
    expect(out).toEqual([msg(1, tar)]);
    expect(events).toEqual([]);
    expect(isCopyCommand(['tar', '-xmf', '-', '-C', '/tmp'])).toBe(true);
    expect(isCopyCommand(['tar', '--no-same-permissions', '--no-same-owner', '-xmf', '-'])).toBe(true);
    expect(isCopyCommand(['sh', '-c', 'tar cf - /data/x | tail -c+512'])).toBe(true);
    // Anything else is a command like any other: masked and recorded.
    expect(isCopyCommand(['sh', '-c', 'cat /data/x; tar cf - /data/x | tail -c+1'])).toBe(false);
    expect(isCopyCommand(['tar', 'cf', '-', '/a', '/b'])).toBe(false);
    expect(isCopyCommand(['cat', '/data/x'])).toBe(false);
  });

  it('stops recording output at the session budget with a marker, and still masks and passes it', () => {
    const { events, stream } = session(4096);
    const s = stream(1);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) out.push(...s.fromServer(msg(1, `line ${i} ${CARD}\n`)));
    out.push(...s.finish());
    expect(stdout(out).split('\n').length).toBe(101);
    expect(stdout(out)).not.toContain('1111');
    const [channel] = recordedChannels('sess-1', events);
    expect(channel!.cut).toContain('limit');
    expect(channel!.asciicast).toContain('recording cut');
  });

  it('ends a stream with an error-channel Status kubectl prints (token expiry), after held output', () => {
    const { stream } = session();
    const s = stream(1);
    const out = [...s.fromServer(msg(1, 'partial 4111')), ...s.end('the token expired')];
    // `4111` was held (it could start a card): it goes out before the Status.
    expect(out.map((m) => m[0])).toEqual([1, 1, 3]);
    expect(stdout(out)).toBe('partial 4111');
    expect(JSON.parse(dec.decode(out[2]!.subarray(1)))).toMatchObject({
      status: 'Failure',
      reason: 'Unauthorized',
      message: 'the token expired',
    });
    expect(s.fromServer(msg(1, 'more'))).toEqual([]);
  });
});

describe('subprotocols offered upstream', () => {
  it('keeps v5 and v4 of what kubectl offers for exec, in its order; refuses a client offering neither', () => {
    const kubectl =
      'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io';
    expect(upstreamSubprotocols('k8s:exec', kubectl)).toEqual({
      offer: ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
    });
    expect(upstreamSubprotocols('k8s:attach', 'v4.channel.k8s.io')).toEqual({ offer: ['v4.channel.k8s.io'] });
    expect(upstreamSubprotocols('k8s:exec', 'base64.channel.k8s.io, channel.k8s.io')).toHaveProperty(
      'refuse',
    );
    expect(upstreamSubprotocols('k8s:exec', undefined)).toHaveProperty('refuse');
    expect(upstreamSubprotocols('k8s:exec', Array(40).fill('v5.channel.k8s.io').join(','))).toHaveProperty(
      'refuse',
    );
  });

  it("offers kubectl's SPDY-in-WebSocket for port-forward, and v4", () => {
    expect(upstreamSubprotocols('k8s:portforward', 'SPDY/3.1+portforward.k8s.io')).toEqual({
      offer: ['SPDY/3.1+portforward.k8s.io'],
    });
    expect(upstreamSubprotocols('k8s:portforward', 'v5.channel.k8s.io')).toHaveProperty('refuse');
  });
});
