/**
 * The SSH engine of one gateway session (issue 11 §3). It terminates SSH twice with
 * @microsoft/dev-tunnels-ssh: as the server toward the user's OpenSSH client, as the client
 * toward the target's sshd, and relays channels between the two, asking policy (`decide`)
 * before each thing it lets through and auditing it before it is forwarded.
 *
 *   client ─ kex (gateway host key) ─ userauth "none" for LOGIN ─┐ decide(ssh:login)
 *   target ─ kex (pinned host key) ───────────────────────────────┴→ userauth LOGIN with the
 *            injected key/password → client gets success → channels, each request decided
 *
 * No I/O: bytes come in through calls and leave through `SshHooks`. This file wires the parts:
 * client-login.ts (userauth, banner), target-login.ts (host key, injected credential),
 * channel-opening.ts (channels and their pairs), channel-requests.ts (requests on a channel),
 * forwarding.ts (agent, X11 and ssh -R channels the target opens back), request-policy.ts
 * (decide, audit, hold).
 */
import { SshAuthenticationType, SshDisconnectReason, SshServerSession } from '@microsoft/dev-tunnels-ssh';
import { sessionConfiguration } from './algorithms.ts';
import { ChannelOpening } from './channel-opening.ts';
import { ClientLogin } from './client-login.ts';
import { endFromFailure, endFromLibraryClose } from './close-reasons.ts';
import { connect, keyExchangeSettled } from './connect.ts';
import { deferred, errText } from './deferred.ts';
import type { EngineState } from './engine-state.ts';
import { Forwarding } from './forwarding.ts';
import { HostStream } from './host-stream.ts';
import { importPrivateKey } from './keys.ts';
import { RequestPolicy } from './request-policy.ts';
import { startTarget } from './target-login.ts';
import type { SshEnd, SshHooks, SshPhase, SshSessionConfig, TargetCredential } from './types.ts';

const DEFAULT_WINDOW = 2 * 1024 * 1024;

export class SshSession {
  readonly stats = {
    bytesFromClient: 0,
    bytesToClient: 0,
    bytesFromTarget: 0,
    bytesToTarget: 0,
    channels: 0,
    refused: 0,
  };
  readonly #state: EngineState = {
    phase: 'handshake',
    ended: false,
    pendingEnd: undefined,
    target: undefined,
  };
  readonly #client: SshServerSession;
  readonly #clientStream: HostStream;
  readonly #targetStream: HostStream;
  readonly #targetReady = deferred<boolean>();
  readonly #policy: RequestPolicy;
  readonly #login: ClientLogin;
  readonly #channels: ChannelOpening;
  readonly #forwarding: Forwarding;

  constructor(
    private readonly config: SshSessionConfig,
    private readonly hooks: SshHooks,
  ) {
    const window = config.windowBytes ?? DEFAULT_WINDOW;
    const maxChannels = config.maxChannels ?? 16;
    // A peer may be one window per channel ahead of what the library has read, plus
    // transport messages; beyond that it ignores flow control (host-stream.ts).
    const cap = window * maxChannels + (1 << 20);
    this.#clientStream = new HostStream(
      (b) => {
        this.stats.bytesToClient += b.length;
        this.hooks.toClient(b);
      },
      cap,
      (n) => this.#end({ kind: 'overload', detail: `client sent ${n} bytes ahead of the gateway` }),
    );
    this.#targetStream = new HostStream(
      (b) => {
        this.stats.bytesToTarget += b.length;
        this.hooks.toTarget(b);
      },
      cap,
      (n) => this.#end({ kind: 'overload', detail: `target sent ${n} bytes ahead of the gateway` }),
    );
    this.#client = new SshServerSession(sessionConfiguration('server'));
    this.#policy = new RequestPolicy(hooks, this.stats);
    this.#login = new ClientLogin({
      client: this.#client,
      hooks,
      policy: this.#policy,
      targetReady: this.#targetReady.promise,
      state: this.#state,
    });
    this.#channels = new ChannelOpening({
      hooks,
      policy: this.#policy,
      stats: this.stats,
      window,
      maxChannels,
      state: this.#state,
      end: (reason) => this.#end(reason),
      crash: (err) => this.#crash(err),
      forwardingAllowed: (kind) => this.#forwarding.allow(kind),
    });
    this.#forwarding = new Forwarding({
      hooks,
      policy: this.#policy,
      stats: this.stats,
      state: this.#state,
      client: this.#client,
      channels: this.#channels,
      window,
      crash: (err) => this.#crash(err),
    });
    this.#client.onAuthenticating((e) => {
      e.authenticationPromise =
        e.authenticationType === SshAuthenticationType.clientNone
          ? this.#login.authenticate(e.username ?? '').catch((err) => this.#crash(err))
          : Promise.resolve(null);
    });
    this.#client.onClientAuthenticated(() => {
      if (!this.#state.ended) this.#state.phase = 'open';
    });
    this.#client.onChannelOpening((e) =>
      e.isRemoteRequest ? this.#channels.clientOpens(e) : this.#forwarding.clientConfirms(e),
    );
    this.#client.onRequest((e) => this.#forwarding.globalRequest(e));
    this.#client.onClosed((e) => this.#end(this.#state.pendingEnd ?? endFromLibraryClose('client', e)));
    void this.#startClient().catch((err) =>
      this.#end(this.#state.pendingEnd ?? endFromFailure('client', err)),
    );
  }

  get phase(): SshPhase {
    return this.#state.phase;
  }

  /** Bytes from the user's SSH client. */
  clientData(bytes: Uint8Array): void {
    if (this.#state.ended) return;
    this.stats.bytesFromClient += bytes.length;
    this.#clientStream.push(bytes);
  }

  clientClosed(): void {
    this.#clientStream.end();
    this.#end(
      this.#state.pendingEnd ?? { kind: 'client_closed', detail: 'the client closed the connection' },
    );
  }

  /** The target's channel is open; `credential` is the injected login secret. */
  targetOpen(credential: TargetCredential): void {
    if (this.#state.ended || this.#state.target) return;
    const { target, done } = startTarget(
      {
        config: this.config,
        hooks: this.hooks,
        stream: this.#targetStream,
        loginChosen: this.#login.chosen,
        state: this.#state,
        ready: (ok) => this.#targetReady.resolve(ok),
        crash: (err) => this.#crash(err),
        channelOpening: (e) =>
          e.isRemoteRequest ? this.#forwarding.targetOpens(e) : this.#channels.targetConfirms(e),
        closed: (e) => {
          if (this.#state.ended) return;
          const end = this.#state.pendingEnd ?? endFromLibraryClose('target', e);
          this.#targetReady.resolve(false);
          this.#endTellingClient(end, `postern: ${end.detail}`);
        },
      },
      credential,
    );
    this.#state.target = target;
    void done.catch((err) => {
      const end = this.#state.pendingEnd ?? endFromFailure('target', err);
      this.#targetReady.resolve(false);
      this.#endTellingClient(end, `postern: ${end.detail}`);
    });
  }

  targetData(bytes: Uint8Array): void {
    if (this.#state.ended) return;
    this.stats.bytesFromTarget += bytes.length;
    this.#targetStream.push(bytes);
  }

  targetClosed(): void {
    this.#targetStream.end();
    const detail = 'the target closed the connection';
    this.#endTellingClient({ kind: 'target_closed', detail }, detail);
  }

  /** Ends the session: the client is told `reason` (SSH_MSG_DISCONNECT) first. */
  fail(reason: string): void {
    this.#endTellingClient({ kind: 'failed', detail: reason }, reason);
  }

  /** Ends the wait of the held request (approved, or refused with `message`). */
  resolveHeld(approved: boolean, message: string): void {
    this.#policy.resolveHeld(approved, message);
  }

  /** A line on the client's stderr (the waiting channel's, else the first open one's). */
  notice(text: string): void {
    const pair = this.#policy.heldPair ?? this.#channels.pairs.values().next().value;
    if (pair) void pair.stderrNow(`postern: ${text}`);
  }

  /** Policy changed (grant revoked...): the login is asked again; a refusal ends the session. */
  async revalidate(): Promise<void> {
    const login = this.#login.login;
    if (this.#state.ended || login === undefined) return;
    const d = await this.#policy.ask({ action: 'ssh:login', login });
    if (d === 'allow') return;
    const why = 'deny' in d ? d.deny : 'the login now needs an approval';
    this.notice(`session ended: ${why}`);
    this.#endTellingClient({ kind: 'policy', detail: why }, `postern: ${why}`);
  }

  async #startClient(): Promise<void> {
    const hostKey = await importPrivateKey(this.config.hostKey);
    this.#client.credentials = { publicKeys: [hostKey] };
    await connect(this.#client, this.#clientStream);
  }

  // ── the end ──────────────────────────────────────────────────────────────────────────

  /**
   * Ends with `end` once the client was told `message`. Closing the client's session fires its
   * close event, which would end the session as "the client closed": the reason is kept as the
   * pending end first (the first reason found wins).
   */
  #endTellingClient(end: SshEnd, message: string): void {
    this.#state.pendingEnd ??= end;
    void this.#disconnectClient(message).then(() => this.#end(this.#state.pendingEnd ?? end));
  }

  async #disconnectClient(message: string): Promise<void> {
    if (this.#state.ended || this.#client.isClosed) return;
    await keyExchangeSettled(this.#client);
    if (this.#state.ended || this.#client.isClosed) return;
    await this.#client.close(SshDisconnectReason.byApplication, message.slice(0, 512)).catch(() => undefined);
  }

  #crash(err: unknown): null {
    this.#end({ kind: 'failed', detail: `gateway error: ${errText(err)}` });
    return null;
  }

  #end(reason: SshEnd): void {
    if (this.#state.ended) return;
    this.#state.ended = true;
    this.#state.phase = 'closed';
    this.#policy.resolveHeld(false, 'the session ended');
    this.#login.cancel();
    this.#targetReady.resolve(false);
    this.#clientStream.dispose();
    this.#targetStream.dispose();
    this.#client.dispose();
    this.#state.target?.dispose();
    this.hooks.end(reason);
  }
}
