import { describe, expect, it } from 'vitest';
import { WatchMasker } from './mask/watch-masker.ts';
import { readRequest, type KubeRequest } from './request.ts';
import { expiringStream, expiryAt, expiryEnding, msUntilExpiry } from './token-expiry.ts';

const EXP = 1_796_000_000; // epoch seconds
const dec = new TextDecoder();

describe('token expiry ends the open streams of a Kubernetes session', () => {
  it('ends at the token exp, not later', () => {
    expect(expiryAt(EXP)).toBe(EXP * 1000);
    expect(msUntilExpiry(EXP, EXP * 1000 - 1500)).toBe(1500);
    expect(msUntilExpiry(EXP, EXP * 1000 + 5)).toBe(0);
  });

  it('ends a watch with one ERROR event holding a 401 Status kubectl prints, valid watch framing', () => {
    const e = expiryEnding('watch', EXP);
    if (e.end !== 'watch') throw new Error('not a watch ending');
    const text = dec.decode(e.last);
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: expect.stringContaining('expired at 2026-'),
        reason: 'Unauthorized',
        code: 401,
      },
    });
    // The event is one the gateway's own watch reader takes whole (a secrets watch included).
    const out = new WatchMasker({ secrets: true }, 'Secret').push(e.last);
    if (!out.ok) throw new Error(out.why);
    expect(dec.decode(Uint8Array.from(out.bytes.flatMap((b) => [...b])))).toBe(text);
  });

  it('ends exec/attach with an error-channel message, logs and port-forward without one, and lets plain requests finish', () => {
    expect(expiryEnding('remote-command', EXP)).toEqual({
      end: 'remote-command',
      message: expect.stringContaining('postern kube-credential'),
    });
    expect(expiryEnding('text', EXP)).toEqual({ end: 'close' });
    expect(expiryEnding('port-forward', EXP)).toEqual({ end: 'close' });
    expect(expiryEnding('request', EXP)).toEqual({ end: 'none' });
  });

  it('classifies forwarded requests by action and response handling', () => {
    const r = (m: string, p: string, q = ''): KubeRequest => readRequest(m, p, q);
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods/p/exec', 'command=sh'), 'stream')).toBe(
      'remote-command',
    );
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods/p/attach'), 'stream')).toBe('remote-command');
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods/p/portforward'), 'stream')).toBe(
      'port-forward',
    );
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods', 'watch=1'), 'watch')).toBe('watch');
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods/p/log', 'follow=true'), 'text')).toBe('text');
    expect(expiringStream(r('GET', '/api/v1/namespaces/a/pods'), 'json')).toBe('request');
    expect(expiringStream(r('GET', '/api'), 'pass')).toBe('request');
  });
});
