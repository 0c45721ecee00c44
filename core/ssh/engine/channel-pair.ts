/**
 * One client channel and the target channel it is relayed to. Data, stderr, EOF and close go
 * each way in the order they arrived (scp and sftp depend on EOF after the last byte and
 * exit-status before close, RFC 4254 §5.3, §6.10). Flow control is end to end: the gateway
 * gives a sender window back (SSH_MSG_CHANNEL_WINDOW_ADJUST) only once the other side has
 * taken the bytes, so at most one window per direction waits in the gateway, and a peer that
 * sends past its window ends the session.
 */
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import { ChannelCloseMessage, ChannelExtendedDataMessage } from './library-messages.ts';
import { copyToLibrary } from './library-bytes.ts';
import type { OutputFilters } from '../../mask/output-filter.ts';
import type { SshRecordEvent } from './types.ts';

const STDERR = 1;
/**
 * How long output must pause before a filter lets go of what it held only in case more came
 * (the echo of a typed character, a prompt): short enough that typing feels live.
 */
const IDLE_MS = 30;
// (new Uint8Array(buffer) copies; Buffer#slice would not, and the library reuses the buffer.)
const EMPTY = new Uint8Array(0);

export interface PairEvents {
  /** A peer broke the protocol (sent past its window): end the session. */
  violation(detail: string): void;
  /** `false`: the recording is full, stop making events (types.ts SshHooks.record). */
  record(event: SshRecordEvent): boolean | void;
  closed(pair: ChannelPair, exit: { status?: number; signal?: string }): void;
}

/**
 * What a channel's data passes through both ways instead of being relayed as it is (the SFTP
 * filter, sftp-filter.ts): it forwards through the pair's directions itself.
 */
export interface StreamFilter {
  clientData(chunk: Uint8Array): void;
  eof(): void;
  targetData(chunk: Uint8Array): void;
  close(): void;
}

/** One direction: a promise chain keeps its sends in arrival order. */
class Direction {
  #chain: Promise<void> = Promise.resolve();
  #unacked = 0;
  #dead = false;
  bytes = 0;

  /** Bytes of the sender's window passed on and not yet taken by the receiver. */
  get unacked(): number {
    return this.#unacked;
  }

  constructor(
    readonly from: SshChannel,
    readonly to: SshChannel,
    private readonly window: number,
    private readonly events: PairEvents,
    private readonly label: string,
  ) {}

  /** `counted`: bytes the sender spent of its window (a filter may send fewer or more). */
  data(data: Uint8Array, stderr: boolean, counted = data.length): void {
    const n = counted;
    this.#unacked += n;
    // The sender may have up to one window in flight, plus one packet of slack for a window
    // adjust that crossed its data (RFC 4254 §5.2).
    if (this.#unacked > this.window + 65536) {
      this.events.violation(`the ${this.label} sent past its channel window`);
      return;
    }
    this.bytes += n;
    // The library reuses its receive buffer for the next packet: keep a copy.
    const copy = copyToLibrary(data);
    this.#then(async () => {
      if (copy.length > 0) {
        if (stderr) await this.to.sendExtendedData(STDERR, copy);
        else await this.to.send(copy);
      }
      this.#unacked -= n;
      if (n > 0) this.from.adjustWindow(n);
    });
  }

  eof(): void {
    this.#then(() => this.to.send(copyToLibrary(EMPTY)));
  }

  then(step: () => Promise<void>): void {
    this.#then(step);
  }

  #then(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#dead) return;
      try {
        await step();
      } catch {
        // The receiving channel is gone; the close that follows ends the pair.
        this.#dead = true;
      }
    });
  }
}

export class ChannelPair {
  readonly up: Direction;
  readonly down: Direction;
  /** 'shell' or 'exec' once started: output and input are recorded. */
  recording: 'shell' | 'exec' | undefined;
  started = false;
  /** Output filters of a shell/exec channel (terminal masking), set when it starts. */
  filters: OutputFilters | undefined;
  /** A filter of the channel's data both ways (an SFTP subsystem), set when it starts. */
  stream: StreamFilter | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #recordedKind: 'shell' | 'exec' | undefined;

  constructor(
    readonly id: number,
    readonly client: SshChannel,
    readonly target: SshChannel,
    window: number,
    private readonly events: PairEvents,
  ) {
    this.up = new Direction(client, target, window, events, 'client');
    this.down = new Direction(target, client, window, events, 'target');
    client.onDataReceived((d) => {
      if (this.recording) this.#record({ type: 'i', data: new Uint8Array(d) });
      if (this.stream) this.stream.clientData(d);
      else this.up.data(d, false);
    });
    client.onExtendedDataReceived((e) => this.up.data(e.data, true));
    client.onEof(() => (this.stream ? this.stream.eof() : this.up.eof()));
    client.onClosed(() => this.up.then(() => this.#closeTarget()));
    target.onDataReceived((d) => this.#fromTarget(d, false));
    target.onExtendedDataReceived((e) => this.#fromTarget(e.data, true));
    target.onEof(() => {
      this.#endFilters();
      this.down.eof();
    });
    target.onClosed((e) => {
      const exit = { status: e.exitStatus, signal: e.exitSignal };
      this.#endFilters();
      // exit-status/exit-signal, then close, after the last byte (RFC 4254 §6.10).
      this.down.then(() => this.#closeClient(exit));
    });
  }

  /** Output of the target: filtered (masked), recorded as the client sees it, relayed. */
  #fromTarget(data: Uint8Array, stderr: boolean): void {
    if (this.stream && !stderr) return this.stream.targetData(data);
    const filter = stderr ? this.filters?.stderr : this.filters?.stdout;
    if (!filter) {
      if (this.recording) this.#record({ type: 'o', data: new Uint8Array(data) });
      return this.down.data(data, stderr);
    }
    let out: Uint8Array;
    try {
      out = filter.push(data);
    } catch (e) {
      // A filter that fails must not let the raw bytes through.
      return this.events.violation(`output filter failed: ${(e as Error).message}`);
    }
    this.#sendFiltered(out, stderr, data.length);
    if (filter.held > 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => this.#idle(), IDLE_MS);
    }
  }

  #sendFiltered(out: Uint8Array, stderr: boolean, counted: number): void {
    if (this.recording && out.length > 0) this.#record({ type: 'o', data: new Uint8Array(out) });
    this.down.data(out, stderr, counted);
  }

  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#closed || !this.filters) return;
    this.#sendFiltered(this.filters.stdout.idle(), false, 0);
    this.#sendFiltered(this.filters.stderr.idle(), true, 0);
  }

  /** The target's output ended: what the filters still hold goes out before EOF. */
  #endFilters(): void {
    clearTimeout(this.#idleTimer);
    const f = this.filters;
    if (!f) return;
    this.filters = undefined;
    this.#sendFiltered(f.stdout.end(), false, 0);
    this.#sendFiltered(f.stderr.end(), true, 0);
  }

  /**
   * A line on the client's stderr now, even while a request on this channel waits (the
   * library holds the channel's send lock until the request is answered). The remote window
   * is charged so the client never sees more than it granted.
   */
  async stderrNow(text: string): Promise<void> {
    if (this.#closed) return;
    const bytes = new TextEncoder().encode(text.endsWith('\n') ? text : text + '\n');
    const ch = this.client as unknown as { remoteWindowSize: number; remoteChannelId: number };
    if (ch.remoteWindowSize < bytes.length) return;
    ch.remoteWindowSize -= bytes.length;
    const msg = new ChannelExtendedDataMessage();
    msg.recipientChannel = this.client.remoteChannelId;
    msg.dataTypeCode = STDERR;
    msg.data = copyToLibrary(bytes);
    await this.client.session.sendMessage(msg).catch(() => undefined);
  }

  /**
   * Ends a channel whose shell/command was refused: the line on stderr, exit-status, EOF and
   * close, in that order after the request's reply; the target channel (never started) closes.
   */
  refuseStart(text: string, status: number): void {
    const line = copyToLibrary(new TextEncoder().encode(text.endsWith('\n') ? text : text + '\n'));
    this.down.then(async () => {
      await this.client.sendExtendedData(STDERR, line);
      await this.client.send(copyToLibrary(EMPTY));
      this.#finish({ status });
      await this.client.close(status);
    });
  }

  async #closeTarget(): Promise<void> {
    if (!this.target.isClosed) await this.target.close();
    await replyClose(this.client);
    this.#finish({});
  }

  async #closeClient(exit: { status?: number; signal?: string }): Promise<void> {
    // Closing the client channel fires its close event, which would finish the pair without
    // the exit status: finish first.
    this.#finish(exit);
    if (!this.client.isClosed) {
      if (exit.signal !== undefined) await this.client.close(exit.signal, '');
      else if (exit.status !== undefined) await this.client.close(exit.status);
      else await this.client.close();
    }
    await replyClose(this.target);
  }

  /** Starts recording a shell/exec channel. */
  startRecording(kind: 'shell' | 'exec', start: SshRecordEvent): void {
    this.recording = kind;
    this.#recordedKind = kind;
    this.#record(start);
  }

  #record(event: SshRecordEvent): void {
    if (this.events.record(event) === false) this.recording = undefined;
  }

  #finish(exit: { status?: number; signal?: string }): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.stream?.close();
    if (this.#recordedKind) this.events.record({ type: 'exit', ...exit });
    this.events.closed(this, exit);
  }
}

/**
 * Answers a close the peer started. RFC 4254 §5.3: "Upon receiving this message, a party MUST
 * send back an SSH_MSG_CHANNEL_CLOSE unless it has already sent this message"; the library
 * marks the channel closed without sending it (its `remoteClosed` means "close sent").
 */
async function replyClose(channel: SshChannel): Promise<void> {
  const ch = channel as unknown as { remoteClosed: boolean };
  if (ch.remoteClosed) return;
  ch.remoteClosed = true;
  const msg = new ChannelCloseMessage();
  msg.recipientChannel = channel.remoteChannelId;
  await channel.session.sendMessage(msg).catch(() => undefined);
}

/**
 * Makes the library's receive-window bookkeeping match the window the gateway advertised. The
 * library's `maxWindowSize` setter changes what it advertises but not its count of what is
 * left (which stays at its 1 MiB default), so with a bigger window it would later grant the
 * peer more than it advertised.
 */
export function useWindow(channel: SshChannel, bytes: number): void {
  const ch = channel as unknown as { isMaxWindowSizeLocked: boolean; windowSize: number };
  if (!ch.isMaxWindowSizeLocked) channel.maxWindowSize = bytes;
  ch.windowSize = channel.maxWindowSize;
}
