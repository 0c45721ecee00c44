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
 * No I/O: bytes come in through calls and leave through `SshHooks`. The identity is the token
 * checked at the WebSocket upgrade, so the client is not asked to log in again: the user name
 * only selects the target login, which policy must permit.
 */
import {
  ChannelOpenConfirmationMessage,
  ChannelOpenFailureMessage,
  type ChannelMessage,
  ChannelOpenMessage,
  ChannelRequestMessage,
  SshAuthenticationType,
  SshChannelError,
  SshChannelOpenFailureReason,
  SshClientSession,
  SshDisconnectReason,
  SshServerSession,
  type SshChannel,
  type SshChannelOpeningEventArgs,
  type SshRequestEventArgs,
  type SshSession as LibrarySession,
  type KeyPair,
} from '@microsoft/dev-tunnels-ssh';
import { ChannelFailureMessage, ChannelSuccessMessage } from './library-messages.ts';
import { sessionConfiguration } from './algorithms.ts';
import { ChannelPair, useWindow } from './channel-pair.ts';
import { HostStream } from './host-stream.ts';
import { SftpFilter, sftpFilter } from './sftp-filter.ts';
import { fingerprint, importPrivateKey, publicKeyBlob, publicKeyLine, sameBytes } from './keys.ts';
import {
  BannerMessage,
  forwardableRequest,
  openExtra,
  readDirectTcpip,
  readText,
  RelayedOpenMessage,
  requestPayload,
} from './wire.ts';
import { endFromFailure, endFromLibraryClose } from './close-reasons.ts';
import type {
  SshDecision,
  SshEnd,
  SshHooks,
  SshPhase,
  SshRequest,
  SshSessionConfig,
  TargetCredential,
} from './types.ts';

const DEFAULT_WINDOW = 2 * 1024 * 1024;
const PACKET = 32 * 1024;
const MAX_LOGIN = 64;
/** Exit status of a refused shell/command (as a shell's "found but cannot execute"). */
const REFUSED_STATUS = 126;
const MAX_COMMAND = 64 * 1024;
/** Environment variables passed to the target (as sshd's default AcceptEnv). */
const ENV_ALLOWED = /^(LANG|LC_[A-Z_]+)$/;

type Permit = { ok: true } | { ok: false; message: string };

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class SshSession {
  readonly stats = {
    bytesFromClient: 0,
    bytesToClient: 0,
    bytesFromTarget: 0,
    bytesToTarget: 0,
    channels: 0,
    refused: 0,
  };
  #phase: SshPhase = 'handshake';
  readonly #window: number;
  readonly #maxChannels: number;
  readonly #client: SshServerSession;
  #target: SshClientSession | undefined;
  readonly #clientStream: HostStream;
  readonly #targetStream: HostStream;
  #login: string | undefined;
  readonly #loginChosen = deferred<string>();
  readonly #targetReady = deferred<boolean>();
  /** Why the session will end once the client goes (a refused login, a target failure). */
  #pendingEnd: SshEnd | undefined;
  #ended = false;
  #held: { pair: ChannelPair | undefined; resolve(approved: boolean, message: string): void } | undefined;
  readonly #pairs = new Map<number, ChannelPair>();
  /** Target channels being opened, by their open message (see #openPair). */
  readonly #opening = new Map<ChannelOpenMessage, (channel: SshChannel) => void>();
  #nextPair = 0;

  constructor(
    private readonly config: SshSessionConfig,
    private readonly hooks: SshHooks,
  ) {
    this.#window = config.windowBytes ?? DEFAULT_WINDOW;
    this.#maxChannels = config.maxChannels ?? 16;
    // A peer may be one window per channel ahead of what the library has read, plus
    // transport messages; beyond that it ignores flow control (host-stream.ts).
    const cap = this.#window * this.#maxChannels + (1 << 20);
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
    this.#client.onAuthenticating((e) => {
      e.authenticationPromise =
        e.authenticationType === SshAuthenticationType.clientNone
          ? this.#authenticateClient(e.username ?? '').catch((err) => this.#crash(err))
          : Promise.resolve(null);
    });
    this.#client.onClientAuthenticated(() => {
      if (!this.#ended) this.#phase = 'open';
    });
    this.#client.onChannelOpening((e) => this.#clientOpens(e));
    this.#client.onRequest((e) => this.#globalRequest(e));
    this.#client.onClosed((e) => this.#end(this.#pendingEnd ?? endFromLibraryClose('client', e)));
    void this.#startClient().catch((err) => this.#end(this.#pendingEnd ?? endFromFailure('client', err)));
  }

  get phase(): SshPhase {
    return this.#phase;
  }

  /** Bytes from the user's SSH client. */
  clientData(bytes: Uint8Array): void {
    if (this.#ended) return;
    this.stats.bytesFromClient += bytes.length;
    this.#clientStream.push(bytes);
  }

  clientClosed(): void {
    this.#clientStream.end();
    this.#end(this.#pendingEnd ?? { kind: 'client_closed', detail: 'the client closed the connection' });
  }

  /** The target's channel is open; `credential` is the injected login secret. */
  targetOpen(credential: TargetCredential): void {
    if (this.#ended || this.#target) return;
    void this.#startTarget(credential).catch((err) => {
      const end = this.#pendingEnd ?? endFromFailure('target', err);
      this.#targetReady.resolve(false);
      this.#endTellingClient(end, `postern: ${end.detail}`);
    });
  }

  targetData(bytes: Uint8Array): void {
    if (this.#ended) return;
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
    const held = this.#held;
    this.#held = undefined;
    held?.resolve(approved, message);
  }

  /** A line on the client's stderr (the waiting channel's, else the first open one's). */
  notice(text: string): void {
    const pair = this.#held?.pair ?? this.#pairs.values().next().value;
    if (pair) void pair.stderrNow(`postern: ${text}`);
  }

  /** Policy changed (grant revoked...): the login is asked again; a refusal ends the session. */
  async revalidate(): Promise<void> {
    if (this.#ended || this.#login === undefined) return;
    const d = await this.#ask({ action: 'ssh:login', login: this.#login });
    if (d === 'allow') return;
    const why = 'deny' in d ? d.deny : 'the login now needs an approval';
    this.notice(`session ended: ${why}`);
    this.#endTellingClient({ kind: 'policy', detail: why }, `postern: ${why}`);
  }

  // ── client side ──────────────────────────────────────────────────────────────────────

  async #startClient(): Promise<void> {
    const hostKey = await importPrivateKey(this.config.hostKey);
    this.#client.credentials = { publicKeys: [hostKey] };
    await connect(this.#client, this.#clientStream);
  }

  /** userauth "none" (RFC 4252 §5.2): the name picks the target login; policy decides. */
  async #authenticateClient(login: string): Promise<object | null> {
    if (this.#login !== undefined && login !== this.#login) {
      await this.#banner('postern: one login per connection');
      return null;
    }
    if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(login) || login.length > MAX_LOGIN) {
      this.hooks.audit('ssh.login', {
        login: login.slice(0, MAX_LOGIN),
        outcome: 'refused',
        reason: 'invalid name',
      });
      await this.#banner('postern: that login name is not valid');
      return null;
    }
    if (this.#login === undefined) {
      const permit = await this.#permit({ action: 'ssh:login', login }, (t) => this.#banner(`postern: ${t}`));
      if (!permit.ok) {
        this.#pendingEnd = { kind: 'policy', detail: `login ${login}: ${permit.message}` };
        await this.#banner(`postern: login ${login} refused: ${permit.message}`);
        return null;
      }
      this.#login = login;
      this.#loginChosen.resolve(login);
    }
    if (!(await this.#targetReady.promise)) {
      await this.#banner(
        `postern: the target refused login ${login} (${this.#pendingEnd?.detail ?? 'see the audit log'})`,
      );
      return null;
    }
    return { login };
  }

  async #banner(text: string): Promise<void> {
    await this.#client.sendMessage(new BannerMessage(text.endsWith('\n') ? text : text + '\n'));
  }

  #globalRequest(e: SshRequestEventArgs<LibrarySessionRequest>): void {
    // tcpip-forward (ssh -R) and the rest: not relayed. keepalive@openssh.com gets the same
    // failure reply OpenSSH expects from a server that does not know it.
    if (e.requestType !== 'keepalive@openssh.com') {
      this.stats.refused++;
      this.hooks.audit('ssh.request', {
        action: 'global',
        type: e.requestType.slice(0, 64),
        outcome: 'refused',
      });
    }
    e.isAuthorized = false;
  }

  #clientOpens(e: SshChannelOpeningEventArgs): void {
    if (!e.isRemoteRequest) return;
    e.openingPromise = this.#openPair(e).catch((err) => {
      this.#crash(err);
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    });
  }

  async #openPair(
    e: SshChannelOpeningEventArgs,
  ): Promise<ChannelOpenConfirmationMessage | ChannelOpenFailureMessage> {
    const type = e.request.channelType ?? '';
    const target = this.#target;
    if (!target || this.#phase !== 'open')
      return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'not ready');
    if (this.#pairs.size >= this.#maxChannels) {
      return refuseOpen(
        SshChannelOpenFailureReason.resourceShortage,
        `at most ${this.#maxChannels} channels`,
      );
    }
    if (type === 'direct-tcpip') {
      let fwd;
      try {
        fwd = readDirectTcpip(e.request);
      } catch (err) {
        return refuseOpen(SshChannelOpenFailureReason.connectFailed, errText(err));
      }
      const permit = await this.#permit({ action: 'ssh:port_forward', host: fwd.host, port: fwd.port });
      if (!permit.ok)
        return refuseOpen(
          SshChannelOpenFailureReason.administrativelyProhibited,
          `postern: ${permit.message}`,
        );
    } else if (type !== 'session') {
      this.stats.refused++;
      this.hooks.audit('ssh.channel', { type: type.slice(0, 64), outcome: 'refused' });
      return refuseOpen(
        SshChannelOpenFailureReason.unknownChannelType,
        `postern: ${type.slice(0, 64)} channels are not relayed`,
      );
    }
    useWindow(e.channel, this.#window);
    const id = ++this.#nextPair;
    let pair: ChannelPair | undefined;
    const open = new RelayedOpenMessage(type, openExtra(e.request), this.#window, PACKET);
    // The pair is wired when the target confirms, before the library reads the next message
    // (a server that speaks first, behind ssh -L, would otherwise lose its first bytes).
    this.#opening.set(open, (targetChannel) => {
      useWindow(targetChannel, this.#window);
      pair = new ChannelPair(id, e.channel, targetChannel, this.#window, {
        violation: (detail) => this.#end({ kind: 'protocol', detail }),
        record: (event) => this.hooks.record?.(id, event),
        closed: (p, exit) => {
          this.#pairs.delete(p.id);
          if (p.started) this.hooks.audit('ssh.exit', { channel: p.id, ...exit });
        },
      });
    });
    try {
      await target.openChannel(open);
    } catch (err) {
      const reason =
        err instanceof SshChannelError && err.reason ? err.reason : SshChannelOpenFailureReason.connectFailed;
      return refuseOpen(reason, errText(err));
    } finally {
      this.#opening.delete(open);
    }
    if (!pair) return refuseOpen(SshChannelOpenFailureReason.connectFailed, 'gateway error');
    this.#pairs.set(id, pair);
    this.stats.channels++;
    const wired = pair;
    e.channel.onRequest((r) => {
      r.responsePromise = this.#channelRequest(wired, r.request).catch((err) => {
        this.#crash(err);
        return new ChannelFailureMessage();
      });
    });
    return new ChannelOpenConfirmationMessage();
  }

  /** A request on a session channel (RFC 4254 §6): decided, audited, then forwarded. */
  async #channelRequest(pair: ChannelPair, request: ChannelRequestMessage): Promise<ChannelMessage> {
    const type = request.requestType ?? '';
    // A refused shell, command or subsystem is answered as a program that printed why and
    // exited 126: OpenSSH drops stderr that arrives just before a failed exec (it exits at
    // once), so a request failure would often lose the line. Other refusals (pty, env,
    // forwarding) are request failures; the session goes on and the line is printed.
    const starting = type === 'shell' || type === 'exec' || type === 'subsystem';
    const refuse = async (message: string, audit = true) => {
      this.stats.refused++;
      if (audit)
        this.hooks.audit('ssh.request', {
          channel: pair.id,
          type: type.slice(0, 64),
          outcome: 'refused',
          reason: message,
        });
      if (starting && !pair.started) {
        pair.started = true;
        pair.refuseStart(`postern: ${message}`, REFUSED_STATUS);
        return new ChannelSuccessMessage();
      }
      await pair.stderrNow(`postern: ${message}`);
      return new ChannelFailureMessage();
    };
    let ask: SshRequest | undefined;
    let start: 'shell' | 'exec' | 'sftp' | undefined;
    let command: string | undefined;
    let size: { cols: number; rows: number } | undefined;
    try {
      const p = requestPayload(request);
      switch (type) {
        case 'pty-req': {
          const term = readText(p, 256);
          size = { cols: p.readUInt32(), rows: p.readUInt32() };
          ask = { action: 'ssh:pty', term };
          break;
        }
        case 'env': {
          const name = readText(p, 256);
          // Not forwarded unless harmless (sshd's AcceptEnv default): LD_PRELOAD, BASH_ENV...
          // would let a client choose what runs before policy's command.
          if (!ENV_ALLOWED.test(name))
            return await refuse(`environment variable ${name} is not passed on`, false);
          break;
        }
        case 'shell':
          ask = { action: 'ssh:shell' };
          start = 'shell';
          break;
        case 'exec':
          command = readText(p, MAX_COMMAND);
          ask = { action: 'ssh:exec', command };
          start = 'exec';
          break;
        case 'subsystem': {
          const name = readText(p, 64);
          if (name !== 'sftp') return await refuse(`subsystem ${name} is not relayed`);
          ask = { action: 'ssh:sftp' };
          start = 'sftp';
          break;
        }
        case 'window-change': {
          const cols = p.readUInt32();
          const rows = p.readUInt32();
          if (pair.recording) this.hooks.record?.(pair.id, { type: 'r', cols, rows });
          break;
        }
        case 'signal':
        case 'eow@openssh.com':
          break;
        case 'auth-agent-req@openssh.com':
          ask = { action: 'ssh:agent_forward' };
          break;
        case 'x11-req':
          ask = { action: 'ssh:x11_forward' };
          break;
        default:
          return await refuse(`request ${type.slice(0, 64)} is not relayed`);
      }
    } catch (err) {
      return await refuse(`malformed ${type.slice(0, 64)} request: ${errText(err)}`);
    }
    if (start && pair.started) return await refuse('a channel runs one shell, command or subsystem');
    if (ask) {
      const permit = await this.#permit(ask, (t) => pair.stderrNow(`postern: ${t}`), pair);
      if (!permit.ok) return await refuse(permit.message, false);
    }
    if (start) {
      pair.started = true;
      if (start === 'sftp') pair.stream = this.#sftpFilter(pair);
      if (start !== 'sftp') {
        try {
          pair.filters = this.hooks.outputFilter?.(pair.id, {
            kind: start,
            ...(command !== undefined ? { command } : {}),
          });
        } catch (err) {
          return await refuse(`output filter unavailable: ${errText(err)}`);
        }
      }
      if (start !== 'sftp' && this.hooks.record) {
        pair.startRecording(start, {
          type: 'start',
          kind: start,
          ...(command !== undefined ? { command } : {}),
          ...size,
        });
      }
    }
    const ok = await pair.target.request(forwardableRequest(request)).catch(() => false);
    return ok ? new ChannelSuccessMessage() : new ChannelFailureMessage();
  }

  /** Each SFTP request decided per operation (sftp-filter.ts); holds wait like an exec's. */
  #sftpFilter(pair: ChannelPair): SftpFilter {
    return sftpFilter(pair, this.#window, {
      permit: (r) => this.#permit(r, (t) => pair.stderrNow(`postern: ${t}`), pair),
      audit: (e) => this.hooks.audit('ssh.sftp', { channel: pair.id, ...e }),
      violation: (detail) => this.#end({ kind: 'protocol', detail }),
      say: (text) => void pair.stderrNow(text),
    });
  }

  // ── target side ──────────────────────────────────────────────────────────────────────

  async #startTarget(credential: TargetCredential): Promise<void> {
    const target = new SshClientSession(sessionConfiguration('client'));
    this.#target = target;
    const pinned = this.config.targetHostKey ? publicKeyBlob(this.config.targetHostKey) : undefined;
    target.onAuthenticating((e) => {
      if (e.authenticationType !== SshAuthenticationType.serverPublicKey) return;
      e.authenticationPromise = this.#checkHostKey(e.publicKey, pinned).catch((err) => this.#crash(err));
    });
    target.onChannelOpening((e) => {
      if (!e.isRemoteRequest) return this.#opening.get(e.request)?.(e.channel);
      // The target opening channels toward the client (forwarded-tcpip, x11, agent): none is
      // requested by the gateway, so none is accepted.
      this.hooks.audit('ssh.channel', {
        type: (e.request.channelType ?? '').slice(0, 64),
        from: 'target',
        outcome: 'refused',
      });
      e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
    });
    target.onRequest((e) => {
      e.isAuthorized = false;
    });
    target.onClosed((e) => {
      if (this.#ended) return;
      const end = this.#pendingEnd ?? endFromLibraryClose('target', e);
      this.#targetReady.resolve(false);
      this.#endTellingClient(end, `postern: ${end.detail}`);
    });
    const key = 'privateKey' in credential ? await importPrivateKey(credential.privateKey) : undefined;
    await connect(target, this.#targetStream);
    if (!(await target.authenticateServer())) {
      this.#targetReady.resolve(false);
      return;
    }
    const login = await this.#loginChosen.promise;
    // The session may have ended while waiting (the login was refused, the client left).
    if (this.#ended || !login) return;
    const ok = await target.authenticateClient(
      key
        ? { username: login, publicKeys: [key] }
        : { username: login, password: (credential as { password: string }).password },
    );
    if (!ok) {
      this.#pendingEnd = {
        kind: 'target_auth',
        detail: `the target refused the injected credential for ${login}`,
      };
      this.hooks.audit('ssh.target_auth', { login, outcome: 'refused' });
    }
    this.#targetReady.resolve(ok);
  }

  async #checkHostKey(key: KeyPair | null, pinned: Uint8Array | undefined): Promise<object | null> {
    if (!key) return null;
    const line = await publicKeyLine(key);
    const blob = publicKeyBlob(line);
    if (!pinned) {
      this.hooks.audit('ssh.host_key_learned', { key: line });
      // Waited for: a key the control plane refuses is refused before the credential is sent.
      if ((await this.hooks.hostKeyLearned?.(line)) !== false) return {};
      this.#pendingEnd = {
        kind: 'host_key_changed',
        detail: `the target's host key changed: it offered ${await fingerprint(blob)}, the connection holds another`,
      };
      this.#targetReady.resolve(false);
      return null;
    }
    if (sameBytes(blob, pinned)) return {};
    const [was, now] = await Promise.all([fingerprint(pinned), fingerprint(blob)]);
    this.#pendingEnd = {
      kind: 'host_key_changed',
      detail: `the target's host key changed: pinned ${was}, offered ${now}`,
    };
    this.hooks.audit('ssh.host_key_mismatch', { pinned: was, offered: line });
    this.#targetReady.resolve(false);
    return null;
  }

  // ── policy ───────────────────────────────────────────────────────────────────────────

  async #ask(request: SshRequest): Promise<SshDecision> {
    try {
      return await this.hooks.decide(request);
    } catch {
      return { deny: 'policy could not be evaluated' };
    }
  }

  /** decide(), audited before anything is forwarded; a hold waits for `resolveHeld`. */
  async #permit(
    request: SshRequest,
    say?: (text: string) => Promise<void>,
    pair?: ChannelPair,
  ): Promise<Permit> {
    const d = await this.#ask(request);
    if (d === 'allow') {
      this.hooks.audit('ssh.request', { ...request, outcome: 'allowed' });
      return { ok: true };
    }
    if ('deny' in d) {
      this.stats.refused++;
      this.hooks.audit('ssh.request', { ...request, outcome: 'denied', reason: d.deny });
      return { ok: false, message: d.deny };
    }
    if (!this.hooks.held || this.#held) {
      const why = this.#held
        ? 'another request is waiting for approval'
        : 'needs an approval, which is not available here';
      this.stats.refused++;
      this.hooks.audit('ssh.request', { ...request, outcome: 'refused', reason: why });
      return { ok: false, message: why };
    }
    this.hooks.audit('ssh.request', { ...request, outcome: 'held', fingerprint: d.hold.fingerprint });
    const answer = new Promise<{ approved: boolean; message: string }>((resolve) => {
      this.#held = { pair, resolve: (approved, message) => resolve({ approved, message }) };
    });
    await say?.(d.hold.text);
    this.hooks.held({ text: d.hold.text, fingerprint: d.hold.fingerprint, action: request.action });
    const { approved, message } = await answer;
    this.hooks.audit('ssh.request', {
      ...request,
      outcome: approved ? 'approved' : 'rejected',
      reason: message,
    });
    if (!approved) this.stats.refused++;
    return approved ? { ok: true } : { ok: false, message: message || 'not approved' };
  }

  // ── the end ──────────────────────────────────────────────────────────────────────────

  /**
   * Ends with `end` once the client was told `message`. Closing the client's session fires its
   * close event, which would end the session as "the client closed": the reason is kept as the
   * pending end first (the first reason found wins).
   */
  #endTellingClient(end: SshEnd, message: string): void {
    this.#pendingEnd ??= end;
    void this.#disconnectClient(message).then(() => this.#end(this.#pendingEnd ?? end));
  }

  async #disconnectClient(message: string): Promise<void> {
    if (this.#ended || this.#client.isClosed) return;
    await this.#client.close(SshDisconnectReason.byApplication, message.slice(0, 512)).catch(() => undefined);
  }

  #crash(err: unknown): null {
    this.#end({ kind: 'failed', detail: `gateway error: ${errText(err)}` });
    return null;
  }

  #end(reason: SshEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#phase = 'closed';
    const held = this.#held;
    this.#held = undefined;
    held?.resolve(false, 'the session ended');
    this.#loginChosen.resolve('');
    this.#targetReady.resolve(false);
    this.#clientStream.dispose();
    this.#targetStream.dispose();
    this.#client.dispose();
    this.#target?.dispose();
    this.hooks.end(reason);
  }
}

type LibrarySessionRequest = Parameters<Parameters<LibrarySession['onRequest']>[0]>[0]['request'];

/**
 * `connect`, without an unhandled rejection when the peer's version line is bad: the library
 * keeps the version exchange as a promise it awaits only after generating its key-exchange
 * keys, so a fast failure would reject it with nobody listening. The failure still reaches
 * the caller through `connect`.
 */
async function connect(session: LibrarySession, stream: HostStream): Promise<void> {
  const connecting = session.connect(stream);
  (session as unknown as { versionExchangePromise?: Promise<void> }).versionExchangePromise?.catch(
    () => undefined,
  );
  await connecting;
}

function refuseOpen(reason: SshChannelOpenFailureReason, description: string): ChannelOpenFailureMessage {
  const m = new ChannelOpenFailureMessage();
  m.reasonCode = reason;
  m.description = description.slice(0, 256);
  return m;
}

function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
