/**
 * The WebSocket channel protocol of pods/exec, pods/attach and pods/portforward
 * (k8s.io/apimachinery/pkg/util/httpstream/wsstream, KEP-4006): every binary message is one
 * channel byte followed by that channel's data. Remote command channels: 0 stdin, 1 stdout,
 * 2 stderr, 3 error (a Status in JSON when the command ends), 4 resize (JSON
 * {"Width","Height"}). v5.channel.k8s.io adds channel 255 "close": [255, n] half-closes stream
 * n (how stdin reaches EOF). Port forward (v4.channel.k8s.io, kubelet portforward/websocket.go):
 * for port i, channel 2i carries data and 2i+1 errors, and the server starts each with the port
 * as a little-endian uint16. Pure: bytes in, frames out.
 */
import type { JsonObject } from './resources.ts';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** What exec/attach accept, most preferred first. */
export const REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/**
 * What port forward accepts: channel framing v4 (kubelet has no v5 for port forward), or SPDY
 * tunnelled in the WebSocket as kubectl 1.31+ sends it (spdy-port-forward.ts).
 */
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'SPDY/3.1+portforward.k8s.io'];

/** The first protocol the client offers that the server speaks (wsstream's handshake). */
export function negotiate(offered: Iterable<string>, supported: readonly string[]): string | undefined {
  for (const p of offered) if (supported.includes(p)) return p;
  return undefined;
}

export function frame(channel: number, data: Uint8Array | string): Uint8Array {
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(body.length + 1);
  out[0] = channel;
  out.set(body, 1);
  return out;
}

export type Frame = { channel: number; data: Uint8Array };

/** An empty message carries no channel; it is ignored, as wsstream does. */
export function parseFrame(msg: Uint8Array): Frame | undefined {
  if (msg.length === 0) return undefined;
  return { channel: msg[0]!, data: msg.subarray(1) };
}

/** The port prefix that opens each port forward channel. */
export function portPrefix(port: number): Uint8Array {
  return new Uint8Array([port & 0xff, port >> 8]);
}

/** The Status the error channel carries when the command ends (remotecommand v4+). */
export function exitStatus(code: number, argv: string[]): JsonObject {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The error-channel Status when the runtime cannot start the command (as containerd words it). */
export function startFailure(argv: string[]): JsonObject {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv[0]}": executable file not found in $PATH: unknown`,
    reason: 'InternalError',
    details: { causes: [{ message: `exec: "${argv[0]}": executable file not found in $PATH` }] },
    code: 500,
  };
}

/** A resize message, checked (bounded ints) and returned; undefined when malformed. */
export function parseResize(data: Uint8Array): { Width: number; Height: number } | undefined {
  if (data.length > 256) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
    return ok(v.Width) && ok(v.Height) ? { Width: v.Width as number, Height: v.Height as number } : undefined;
  } catch {
    return undefined;
  }
}
