/**
 * Terminal output masking for an SSH session (docs/ssh.md, "Masking terminal output"): the
 * value detectors the connection's masking names (and no `unmask` permit lifts for this
 * principal, as for Postgres: core/mask/config.ts) run over shell and exec output, stdout and
 * stderr each through its own TerminalMasker. Never over file transfers (sftp is a subsystem
 * and gets no filter; scp and rsync over exec are recognised by their command), whose bytes
 * are a file's.
 *
 * Unlike a Postgres result, terminal output is masked only with detectors the connection names
 * explicitly: a shell prints keys, hashes and numbers people need to read, so the default is off.
 */
import { HmacSha256 } from '../../crypto/hmac-sync.ts';
import { sessionMasking, type MaskingConfig } from '../../mask/config.ts';
import type { DetectorKind } from '../../mask/detectors.ts';
import type { MaskCounts, Strategy } from '../../mask/value-masker.ts';
import type { CompiledPolicies } from '../../policy/engine.ts';
import type { PolicySubject } from '../../policy/principal.ts';
import type { OutputFilters } from '../../mask/output-filter.ts';
import { isFileTransferCommand } from '../ssh-command.ts';
import { TerminalMasker } from '../../mask/terminal-masker.ts';

const enc = new TextEncoder();

export class SshOutputMasking {
  readonly #detectors: Partial<Record<DetectorKind, Strategy>>;
  readonly #key: Uint8Array;
  /** Each masker's live counts (not the maskers: their buffers go with their channel). */
  readonly #counts: MaskCounts[] = [];
  /** The rules an `unmask` permit lifted (for `session_open`). */
  readonly unmasked: string[];

  constructor(
    config: MaskingConfig,
    policies: CompiledPolicies,
    subject: PolicySubject,
    maskingSecret: string,
    connectionId: string,
  ) {
    const named = { columns: [], detectors: config.detectors };
    const session = sessionMasking(named, policies, subject);
    this.#detectors = {};
    for (const [kind, strategy] of Object.entries(session.detectors) as Array<[DetectorKind, Strategy]>) {
      const asked = config.detectors[kind];
      if (asked !== undefined && asked !== 'off') this.#detectors[kind] = strategy;
    }
    this.unmasked = session.unmasked.filter((id) => {
      const asked = config.detectors[id.slice('detector:'.length) as DetectorKind];
      return asked !== undefined && asked !== 'off';
    });
    // Keyed per connection, as Postgres tokens are (core/pg-session/postgres-policy.ts): a value
    // tokenizes the same way in every session of the connection, in SQL results and terminals.
    this.#key = new HmacSha256(enc.encode(`postern-masking-v1:${maskingSecret}`)).digest(
      enc.encode(connectionId),
    );
  }

  get detecting(): boolean {
    return Object.keys(this.#detectors).length > 0;
  }

  /** The engine's outputFilter hook. */
  filters(start: { kind: 'shell' | 'exec'; command?: string }): OutputFilters | undefined {
    if (!this.detecting) return undefined;
    if (start.command !== undefined && isFileTransferCommand(start.command)) return undefined;
    const stdout = new TerminalMasker(this.#detectors, new HmacSha256(this.#key));
    const stderr = new TerminalMasker(this.#detectors, new HmacSha256(this.#key));
    this.#counts.push(stdout.counts, stderr.counts);
    return { stdout, stderr };
  }

  /** Values masked so far, per detector (for `session_close`). */
  get counts(): MaskCounts {
    const total: MaskCounts = {};
    for (const counts of this.#counts) {
      for (const [k, n] of Object.entries(counts)) total[k] = (total[k] ?? 0) + (n ?? 0);
    }
    return total;
  }
}
