import { describe, expect, it } from 'vitest';
import {
  exitStatus,
  frame,
  negotiate,
  parseFrame,
  parseResize,
  portPrefix,
  REMOTE_COMMAND_PROTOCOLS,
} from './channels.ts';

describe('WebSocket channel frames', () => {
  it('prefixes the channel byte and reads it back; an empty message has no channel', () => {
    expect([...frame(1, 'hi')]).toEqual([1, 104, 105]);
    expect(parseFrame(new Uint8Array([255, 0]))).toEqual({ channel: 255, data: new Uint8Array([0]) });
    expect(parseFrame(new Uint8Array())).toBeUndefined();
  });

  it('negotiates the first protocol the client offers that the server speaks', () => {
    expect(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS)).toBe(
      'v5.channel.k8s.io',
    );
    expect(negotiate(['channel.k8s.io', 'v4.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS)).toBe(
      'v4.channel.k8s.io',
    );
    expect(negotiate(['SPDY/3.1+portforward.k8s.io'], REMOTE_COMMAND_PROTOCOLS)).toBeUndefined();
  });

  it('writes the exit Status kubectl turns into its exit code, and the port prefix little-endian', () => {
    expect(exitStatus(0, ['true'])).toEqual({ metadata: {}, status: 'Success' });
    expect(exitStatus(3, ['sh', '-c', 'exit 3'])).toMatchObject({
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    expect([...portPrefix(8080)]).toEqual([0x90, 0x1f]);
  });

  it('accepts only a bounded, well-formed resize', () => {
    expect(parseResize(new TextEncoder().encode('{"Width":80,"Height":24}'))).toEqual({
      Width: 80,
      Height: 24,
    });
    expect(parseResize(new TextEncoder().encode('{"Width":-1,"Height":24}'))).toBeUndefined();
    expect(parseResize(new TextEncoder().encode('nope'))).toBeUndefined();
  });
});
