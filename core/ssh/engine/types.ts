/**
 * The contract between the SSH engine and the session host that drives it (issue 11 §2/§3):
 * bytes and decisions in, bytes and events out, no I/O of its own.
 */
import type { OutputFilters } from '../../mask/output-filter.ts';

/** What the engine asks policy before it lets something through (Cedar actions, issue 11 §3). */
export type SshRequest =
  | { action: 'ssh:login'; login: string }
  | { action: 'ssh:shell' }
  | { action: 'ssh:exec'; command: string }
  | { action: 'ssh:pty'; term: string }
  | { action: 'ssh:sftp' }
  | { action: 'ssh:sftp_read' | 'ssh:sftp_write'; operation: string; path: string }
  | { action: 'ssh:port_forward'; host: string; port: number; direction: 'local' | 'remote' }
  | { action: 'ssh:agent_forward' }
  | { action: 'ssh:x11_forward' };

/** A policy answer. `hold` waits for an approval (`resolveHeld`). */
export type SshDecision = 'allow' | { deny: string } | { hold: { text: string; fingerprint: string } };

/** A request waiting for an approval (protocol-neutral shape, issue 11 §2). */
export interface SshHeld {
  text: string;
  fingerprint: string;
  action: SshRequest['action'];
}

/** Why a session ended; `detail` is for the operator (audit/logs), never secrets. */
export interface SshEnd {
  kind:
    | 'client_closed'
    | 'target_closed'
    | 'protocol'
    | 'algorithms'
    | 'policy'
    | 'target_auth'
    | 'host_key_changed'
    | 'overload'
    | 'failed';
  detail: string;
}

/** Recording events of a shell/exec channel (asciicast v2: "o", "i", "r"). */
export type SshRecordEvent =
  | { type: 'o'; data: Uint8Array }
  | { type: 'i'; data: Uint8Array }
  | { type: 'r'; cols: number; rows: number }
  | { type: 'start'; kind: 'shell' | 'exec'; command?: string; cols?: number; rows?: number }
  | { type: 'exit'; status?: number; signal?: string };

export type TargetCredential = { privateKey: string | JsonWebKey } | { password: string };

export interface SshSessionConfig {
  /** The gateway's host key toward the client: PKCS#8 PEM, OpenSSH private key or JWK. */
  hostKey: string | JsonWebKey;
  /** The target's pinned host key, an OpenSSH public-key line; absent = learn it. */
  targetHostKey?: string;
  /** Channel window the gateway grants each side (bytes). Default 2 MiB, as OpenSSH. */
  windowBytes?: number;
  /** Most channels open at once. Default 16. */
  maxChannels?: number;
}

export interface SshHooks {
  toClient(bytes: Uint8Array): void;
  toTarget(bytes: Uint8Array): void;
  /** The session is over: close both sides. Called once. */
  end(reason: SshEnd): void;
  /** A request waits for approval; answer with `resolveHeld`. Without it, holds are refused. */
  held?(ticket: SshHeld): void;
  decide(request: SshRequest): SshDecision | Promise<SshDecision>;
  /** Written before the thing it describes is forwarded. */
  audit(kind: string, event: Record<string, unknown>): void;
  /**
   * A recording event of a shell/exec channel. Returning `false` says the recording is full
   * (its size is bounded): no more output/input events are made for that channel, so a big
   * transfer over exec (scp) is not copied for nothing. The exit event is always sent.
   */
  record?(channelId: number, event: SshRecordEvent): boolean | void;
  /**
   * No key was pinned: this is the target's, as an OpenSSH public-key line. The key exchange
   * waits for the answer: `false` (the control plane holds another key for the target by now)
   * refuses the target as a changed host key, before any credential is sent to it.
   */
  hostKeyLearned?(key: string): void | boolean | Promise<boolean>;
  /**
   * A shell or exec channel started: a filter its output (stdout and stderr each) passes
   * through before it is recorded and sent to the client (terminal masking), or none.
   */
  outputFilter?(
    channelId: number,
    start: { kind: 'shell' | 'exec'; command?: string },
  ): OutputFilters | undefined;
}

export type SshPhase = 'handshake' | 'open' | 'closed';
