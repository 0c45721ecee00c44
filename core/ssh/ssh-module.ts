/**
 * SSH behind the session host's protocol interface (core/session-host/protocol.ts, issue 11
 * §2-3): the engine (core/ssh/engine/session.ts) terminates SSH toward the client and the
 * target; this module wires its hooks to the host. Policy is the SSH gate (ssh-gate.ts) over
 * the session's policies and grants, each decision audited before the engine forwards
 * (module/ssh-decide.ts); a request the gate holds becomes the host's neutral HeldRequest;
 * shell and exec channels are recorded into the audit trail (module/ssh-recordings.ts) and
 * their output masked with the detectors the connection names (module/ssh-output-masking.ts);
 * the target's host key is confirmed with the control plane before the injected credential is
 * sent, in every session: learned there on first use (compare-and-set), else compared with the
 * pin it holds now (a key other than that one refuses the target).
 */
import type { CloseReason } from '../session-host/close-reason.ts';
import type { SessionNotice } from '../session-host/held-request.ts';
import type {
  ProtocolConnection,
  ProtocolIo,
  ProtocolModule,
  ProtocolPhase,
  ProtocolServices,
  ProtocolSession,
  SessionStats,
  TargetCredential,
} from '../session-host/protocol.ts';
import { SshSession } from './engine/session.ts';
import type { SshEnd } from './engine/types.ts';
import { hostKeyAad } from './gateway-host-key.ts';
import { SshDecider } from './module/ssh-decide.ts';
import { kindOfEngineEvent } from './module/ssh-audit-kinds.ts';
import { SshOutputMasking } from './module/ssh-output-masking.ts';
import { SshRecordings } from './module/ssh-recordings.ts';
import { disconnectText, toHostReason } from './module/ssh-reasons.ts';
import { SshGate } from './ssh-gate.ts';

/** An SSH connection as the session host hands it over (edge/contracts/session-start.ts). */
export interface SshConnection extends ProtocolConnection {
  ssh?: {
    /** The gateway host key, PKCS#8 PEM sealed under hostKeyAad(connection id). */
    hostKey: { keyId: string; ciphertext: string };
    /**
     * The target's pinned host key (an OpenSSH public-key line), or null: learn it. As the Worker
     * read it, possibly seconds before an admin changed it: only said in a refusal's audit event;
     * the pin that decides is the control plane's (learnTargetHostKey).
     */
    targetHostKey: string | null;
  };
}

export interface SshRuntime {
  /** Bytes of asciicast every recording of one session may take, in all (then cut, with a marker). */
  maxRecordingBytes: number;
  /** Channel window the gateway grants each side (engine default when absent). */
  windowBytes?: number;
}

export function sshModule(runtime: SshRuntime): ProtocolModule<SshConnection> {
  return {
    protocol: 'ssh',
    prepare: async (start, services) => {
      const conn = start.connection;
      if (!conn.ssh) throw new Error(`connection "${conn.name}" has no SSH settings`);
      const hostKey = await services.unseal(conn.ssh.hostKey, hostKeyAad(conn.id));
      const gate = new SshGate(services.policies, services.subject, services.grants);
      const masking = new SshOutputMasking(
        conn.masking,
        services.policies,
        services.subject,
        services.maskingSecret,
        conn.id,
      );
      const targetHostKey = conn.ssh.targetHostKey;
      return {
        openDetails: { unmasked: masking.unmasked },
        open: (io) =>
          new SshProtocolSession(
            { sessionId: start.sessionId, connection: conn.name, hostKey, targetHostKey },
            { gate, masking, services, runtime },
            io,
          ),
      };
    },
  };
}

interface SessionParts {
  gate: SshGate;
  masking: SshOutputMasking;
  services: ProtocolServices;
  runtime: SshRuntime;
}

const PHASES = { handshake: 'starting', open: 'open', closed: 'closed' } as const;

class SshProtocolSession implements ProtocolSession {
  readonly #engine: SshSession;
  readonly #decider: SshDecider;
  readonly #recordings: SshRecordings;
  readonly #masking: SshOutputMasking;
  readonly #services: ProtocolServices;
  readonly #io: ProtocolIo;
  /** The reason the host gave with fail(), reported when the engine's end follows from it. */
  #failing: CloseReason | undefined;
  #ended = false;
  /** The pin in the connection the session started with (audit detail only). */
  #cachedPin: string | null = null;

  constructor(
    s: { sessionId: string; connection: string; hostKey: string; targetHostKey: string | null },
    parts: SessionParts,
    io: ProtocolIo,
  ) {
    const { services, runtime } = parts;
    this.#services = services;
    this.#io = io;
    this.#masking = parts.masking;
    this.#decider = new SshDecider(parts.gate, services, s.connection);
    this.#recordings = new SshRecordings(s.sessionId, runtime.maxRecordingBytes, services, (e) =>
      this.fail({ kind: 'gateway-error', detail: `recording not written: ${e.message}` }),
    );
    this.#cachedPin = s.targetHostKey;
    // No pin for the engine: it asks hostKeyLearned for every key, and the control plane answers
    // with the pin it holds now. The connection the session started with may be up to the
    // Worker's cache age old, and an admin's new pin must apply to the next session (gap 6).
    this.#engine = new SshSession(
      {
        hostKey: s.hostKey,
        ...(runtime.windowBytes ? { windowBytes: runtime.windowBytes } : {}),
      },
      {
        toClient: (b) => io.toClient(b),
        toTarget: (b) => io.toTarget(b),
        end: (e) => this.#end(e),
        decide: (r) => this.#decider.decide(r),
        held: (h) => {
          const request = this.#decider.held(h);
          // Without its ticket the engine's hold cannot be asked for: refused, never let through.
          if (request) io.held(request);
          else this.#engine.resolveHeld(false, 'the approval request could not be made');
        },
        audit: (kind, event) => {
          const k = kindOfEngineEvent(kind, event);
          if (k) services.audit(k, event, typeof event['outcome'] === 'string' ? event['outcome'] : null);
        },
        record: (channel, event) => this.#recordings.record(channel, event),
        hostKeyLearned: (key) => this.#learn(key),
        outputFilter: (_channel, start) => this.#masking.filters(start),
      },
    );
  }

  get phase(): ProtocolPhase {
    return this.#ended ? 'closed' : PHASES[this.#engine.phase];
  }

  get stats(): SessionStats {
    const s = this.#engine.stats;
    return {
      bytesFromClient: s.bytesFromClient,
      bytesToClient: s.bytesToClient,
      statements: this.#decider.decided,
    };
  }

  clientData(bytes: Uint8Array): void {
    this.#engine.clientData(bytes);
  }

  clientClosed(): void {
    this.#engine.clientClosed();
  }

  targetOpen(credential: TargetCredential): void {
    this.#engine.targetOpen(
      credential.kind === 'private_key' ? { privateKey: credential.secret } : { password: credential.secret },
    );
  }

  targetData(bytes: Uint8Array): void {
    this.#engine.targetData(bytes);
  }

  targetClosed(): void {
    this.#engine.targetClosed();
  }

  fail(reason: CloseReason): void {
    if (this.#ended || this.#failing) return;
    this.#failing = reason;
    this.#engine.fail(disconnectText(reason));
  }

  resolveHeld(approved: boolean, message: string): void {
    this.#engine.resolveHeld(approved, message);
  }

  revalidate(): void {
    void this.#engine
      .revalidate()
      .catch((e: unknown) =>
        this.fail({ kind: 'gateway-error', detail: `revalidation failed: ${(e as Error).message}` }),
      );
  }

  notice(n: SessionNotice): void {
    for (const line of [n.message, n.detail, n.hint]) if (line) this.#engine.notice(line);
  }

  closeDetails(): Record<string, unknown> {
    return { masked: this.#masking.counts, recordings: this.#recordings.summaries.length };
  }

  /**
   * The target's key, confirmed with the control plane before the target gets the credential:
   * trust on first use when it holds no pin, else the pin it holds now.
   */
  async #learn(key: string): Promise<boolean> {
    const pinned = this.#cachedPin ? { pinnedAtStart: this.#cachedPin } : {};
    let answer: 'learned' | 'matches' | 'mismatch';
    try {
      answer = await this.#services.learnTargetHostKey(key);
    } catch (e) {
      // Not knowing whether the key is the pinned one is refusing it (fail closed).
      this.#services.audit(
        'target_host_key_mismatch',
        { offered: key, ...pinned, error: (e as Error).message.slice(0, 200) },
        'unknown',
      );
      return false;
    }
    if (answer === 'mismatch') {
      this.#services.audit('target_host_key_mismatch', { offered: key, ...pinned }, 'mismatch');
      return false;
    }
    if (answer === 'learned') this.#services.audit('target_host_key_learned', { key }, 'learned');
    return true;
  }

  #end(e: SshEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#recordings.finishAll();
    } catch {
      // finishAll reports its own failures; the session is ending either way.
    }
    this.#io.end(toHostReason(e, this.#failing));
  }
}
