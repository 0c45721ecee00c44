/**
 * One pods/exec or pods/attach WebSocket, read message by message (docs/kubernetes.md "Exec,
 * attach, port-forward"): the remote command channel protocol (subprotocols.ts; KEP-4006,
 * k8s.io/apimachinery/pkg/util/httpstream/wsstream): every message is one channel byte then
 * that channel's bytes — 0 stdin, 1 stdout, 2 stderr, 3 error (a `v1 Status` in JSON when the
 * command ends), 4 resize (JSON `{"Width","Height"}`), and in v5 255 close (`[255, n]` ends
 * stream n; what lets stdin reach EOF).
 *
 * Output (stdout, stderr) is terminal text: it goes to the client through the session's output
 * filters (the SSH terminal masker, core/mask/terminal-masker.ts, with the connection's named
 * detectors; a value split across messages is found whole), so the client gets it re-cut into
 * new messages of the same channel. The session is recorded as SSH records a channel
 * (core/ssh/module/ssh-recordings.ts: asciicast v2 pieces as `recording_chunk` audit events,
 * one byte budget per session): masked output as "o", stdin as "i", resize as "r", and the
 * exit status on the end. No I/O: messages in, messages out.
 *
 * A message Postern cannot read is not forwarded: an empty one, a client message on a channel
 * a client does not write (1, 2, 3; 255 under v4), a resize that is not the bounded JSON, a
 * server message on a channel a server does not write. kubectl cp's `tar` commands carry a tar
 * archive, not text: not masked (it would corrupt the archive) and not recorded, as SSH leaves
 * scp and sftp (docs/ssh.md); Cedar sees their command (`k8s:exec` `command`).
 */
import type { OutputFilter, OutputFilters } from '../../mask/output-filter.ts';
import type { SshRecordEvent } from '../../ssh/engine/types.ts';
import type { RemoteCommandProtocol } from './subprotocols.ts';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** Largest resize or error message read (each is a small JSON object). */
const MAX_CONTROL_BYTES = 64 * 1024;

export interface ExecStreamOptions {
  protocol: RemoteCommandProtocol;
  kind: 'exec' | 'attach';
  /** The command's arguments (exec; none for attach). */
  command: string[];
  /** The session's output filters for this stream (SshOutputMasking.filters), or none. */
  filters?: OutputFilters;
  /** The session's recording hook for this stream (SshRecordings.record bound to its id). */
  record?: (event: SshRecordEvent) => boolean | void;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export class ExecStream {
  readonly #o: ExecStreamOptions;
  readonly #filters: OutputFilters | undefined;
  readonly #record: ((event: SshRecordEvent) => boolean | void) | undefined;
  /** Output and input are still recorded (the session's budget was not spent). */
  #recording: boolean;
  #finished = false;
  #exit: { status?: number } = {};

  constructor(options: ExecStreamOptions) {
    this.#o = options;
    const transfer = options.kind === 'exec' && isCopyCommand(options.command);
    this.#filters = transfer ? undefined : options.filters;
    this.#record = transfer ? undefined : options.record;
    const command = options.kind === 'exec' ? options.command.join(' ') : undefined;
    this.#recording =
      this.#record?.({
        type: 'start',
        kind: options.kind === 'attach' ? 'shell' : 'exec',
        ...(command !== undefined ? { command } : {}),
      }) !== false && this.#record !== undefined;
  }

  /** Bytes the output filters hold (the host calls `idle()` after a quiet spell while any are). */
  get held(): number {
    return (this.#filters?.stdout.held ?? 0) + (this.#filters?.stderr.held ?? 0);
  }

  /** A message from the client: whether to forward it to the API server (unchanged). */
  fromClient(payload: Uint8Array): boolean {
    if (this.#finished || payload.length === 0) return false;
    const channel = payload[0]!;
    const data = payload.subarray(1);
    switch (channel) {
      case STDIN:
        this.#event({ type: 'i', data });
        return true;
      case RESIZE: {
        const size = parseResize(data);
        if (!size) return false;
        this.#event({ type: 'r', cols: size.Width, rows: size.Height });
        return true;
      }
      case CLOSE:
        // v5 only, and a client closes only its own stream (stdin).
        return this.#o.protocol === 'v5.channel.k8s.io' && data.length === 1 && data[0] === STDIN;
      default:
        return false;
    }
  }

  /** A message from the API server: the messages to send the client, in order. */
  fromServer(payload: Uint8Array): Uint8Array[] {
    if (this.#finished || payload.length === 0) return [];
    const channel = payload[0]!;
    switch (channel) {
      case STDOUT:
      case STDERR: {
        const f = this.#filter(channel);
        return this.#out(channel, f ? f.push(payload.subarray(1)) : payload.subarray(1));
      }
      case ERROR: {
        // The command ended: what the filters still hold goes first, then the Status.
        const out = this.#drain('end');
        this.#exit = exitOf(payload.subarray(1));
        out.push(payload);
        return out;
      }
      case CLOSE:
        return this.#o.protocol === 'v5.channel.k8s.io' ? [payload] : [];
      default:
        return [];
    }
  }

  /** The output paused: what the filters held in case more came. */
  idle(): Uint8Array[] {
    return this.#finished ? [] : this.#drain('idle');
  }

  /**
   * The stream is over (either side closed it, or the session ends): what the filters still
   * hold, to send before closing; the recording is finished with the exit status, if one came.
   */
  finish(): Uint8Array[] {
    if (this.#finished) return [];
    const out = this.#drain('end');
    this.#finished = true;
    this.#record?.({ type: 'exit', ...this.#exit });
    return out;
  }

  /**
   * Ends the stream with a last error-channel Status the client prints (`message`), as the API
   * server ends a command that failed: token expiry (token-expiry.ts).
   */
  end(message: string): Uint8Array[] {
    const out = this.finish();
    const status = { metadata: {}, status: 'Failure', message, reason: 'Unauthorized', code: 401 };
    out.push(withChannel(ERROR, enc.encode(JSON.stringify(status))));
    return out;
  }

  #filter(channel: number): OutputFilter | undefined {
    return channel === STDOUT ? this.#filters?.stdout : this.#filters?.stderr;
  }

  #drain(how: 'idle' | 'end'): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const channel of [STDOUT, STDERR]) {
      const f = this.#filter(channel);
      if (f) out.push(...this.#out(channel, how === 'idle' ? f.idle() : f.end()));
    }
    return out;
  }

  #out(channel: number, bytes: Uint8Array): Uint8Array[] {
    if (bytes.length === 0) return [];
    this.#event({ type: 'o', data: bytes });
    return [withChannel(channel, bytes)];
  }

  #event(event: SshRecordEvent): void {
    if (this.#recording && this.#record?.(event) === false) this.#recording = false;
  }
}

/** kubectl cp's commands (kubectl pkg/cmd/cp/cp.go): a tar archive on stdin or stdout. */
export function isCopyCommand(argv: readonly string[]): boolean {
  if (argv[0] !== 'tar') {
    // A resumed download: `sh -c "tar cf - <src> | tail -c+<n>"`.
    return (
      argv.length === 3 &&
      argv[0] === 'sh' &&
      argv[1] === '-c' &&
      /^tar cf - [^\s;|&$`'"\\<>()]+ \| tail -c\+\d+$/.test(argv[2]!)
    );
  }
  const args = argv.slice(1);
  // Download: `tar cf - <src>` (`cfv` at -v=4).
  if ((args[0] === 'cf' || args[0] === 'cfv') && args[1] === '-' && args.length === 3) return true;
  // Upload: `tar [--no-same-permissions --no-same-owner] -xmf - [-C <dir>]`.
  let i = 0;
  if (args[0] === '--no-same-permissions' && args[1] === '--no-same-owner') i = 2;
  if (args[i] !== '-xmf' || args[i + 1] !== '-') return false;
  const rest = args.slice(i + 2);
  return rest.length === 0 || (rest.length === 2 && rest[0] === '-C');
}

/** The exit status an error-channel Status carries (remotecommand v4+: NonZeroExitCode). */
function exitOf(data: Uint8Array): { status?: number } {
  if (data.length > MAX_CONTROL_BYTES) return {};
  try {
    const s = JSON.parse(dec.decode(data)) as {
      status?: unknown;
      reason?: unknown;
      details?: { causes?: Array<{ reason?: unknown; message?: unknown }> };
    };
    if (s.status === 'Success') return { status: 0 };
    if (s.reason !== 'NonZeroExitCode') return {};
    const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    return Number.isInteger(code) && code >= 0 && code <= 255 ? { status: code } : {};
  } catch {
    return {};
  }
}

/** A resize message (`{"Width": w, "Height": h}`, uint16 each as the kubelet reads them). */
export function parseResize(data: Uint8Array): { Width: number; Height: number } | undefined {
  if (data.length > 256) return undefined;
  try {
    const v = JSON.parse(dec.decode(data)) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
    return ok(v.Width) && ok(v.Height) ? { Width: v.Width as number, Height: v.Height as number } : undefined;
  } catch {
    return undefined;
  }
}

function withChannel(channel: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = channel;
  out.set(bytes, 1);
  return out;
}
