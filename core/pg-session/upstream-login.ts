/**
 * The gateway's login to the target, from its StartupMessage to the moment the client may start
 * (protocol §55.2.1): the injected credential answers the target's authentication requests
 * (upstream-auth.ts), ParameterStatus and BackendKeyData are kept for the client's greeting, the
 * settings the gateway's reading of SQL depends on must have been reported, and the gateway's own
 * catalog reads run (preflight.ts) before the target counts as ready. No I/O: it acts through
 * `UpstreamLoginIO`, and the session feeds it the target's messages one at a time.
 */
import { concatBytes } from '../bytes.ts';
import { isPosternError } from '../errors.ts';
import type { PgFrame } from '../pg/framer.ts';
import { authenticationOk, backendKeyData, query, readyForQuery, startupMessage } from '../pg/messages.ts';
import type { CloseReason } from './close-reason.ts';
import { Backend } from '../pg/message-types.ts';
import { messageOf } from './frames.ts';
import { PreflightRows, preflightText, type PreflightStep } from './preflight.ts';
import { REQUIRED_REPORTS, parameterStatus, readingChangeIn } from './server-settings.ts';
import { startupStep } from './startup-frames.ts';
import type { CancelKey } from '../pg/types.ts';
import type { PgSessionConfig } from './types.ts';
import { UpstreamAuthenticator } from './upstream-auth.ts';

export interface UpstreamLoginIO {
  toUpstream(bytes: Uint8Array): void;
  fail(reason: CloseReason): void;
  /** The target is ready (ReadyForQuery `status`) and the gateway read what it needs. */
  ready(status: number): void;
}

export class UpstreamLogin {
  #params: Record<string, string> | undefined;
  /** Settings of the client were forwarded (the target's refusal of one is relayed). */
  #clientSettings = false;
  #credential: string | undefined;
  #started = false;
  #auth: UpstreamAuthenticator | undefined;
  #authenticated = false;
  #key: CancelKey | undefined;
  #paramStatus: Uint8Array[] = [];
  /** Settings the target reported at startup (the ones the gateway's reading depends on). */
  #reported = new Set<string>();
  #preflight: PreflightRows | undefined;
  /** The preflight's rows as read, kept for a snapshot (session-snapshot.ts). */
  #catalog: Array<Array<Array<string | null>>> = [];

  constructor(
    private readonly config: PgSessionConfig,
    private readonly io: UpstreamLoginIO,
  ) {}

  /** The target's own cancel key, once known. */
  get key(): CancelKey | undefined {
    return this.#key;
  }

  /** The preflight's rows, per query, as the target answered them at startup. */
  get catalog(): Array<Array<Array<string | null>>> {
    return this.#catalog;
  }

  /** A snapshotted session goes on (PgSession.resume): its key and catalog as they were. */
  resumed(key: CancelKey, catalog: Array<Array<Array<string | null>>>): void {
    this.#key = key;
    this.#catalog = catalog;
    this.#started = this.#authenticated = true;
  }

  /** The client's startup was accepted: `params` are the target's StartupMessage parameters. */
  clientAccepted(params: Record<string, string>, clientSettings: boolean): void {
    this.#params = params;
    this.#clientSettings = clientSettings;
    this.#maybeStart();
  }

  /** The data channel to the target is open; `credential` is the injected password. */
  channelOpen(credential: string): void {
    this.#credential = credential;
    this.#maybeStart();
  }

  /**
   * One target message. An authentication step (SCRAM) may take a while: then this returns a
   * promise, true when the login goes on, and the caller holds later target bytes until it
   * settles (order must be kept).
   */
  frame(frame: PgFrame): Promise<boolean> | undefined {
    if (frame.type === Backend.Authentication && !this.#authenticated) return this.#authStep(frame);
    this.#startupFrame(frame);
    return undefined;
  }

  /** What the client gets once the target is ready: AuthenticationOk ... ReadyForQuery. */
  greeting(gatewayKey: CancelKey, status: number): Uint8Array {
    const greeting = concatBytes([
      authenticationOk(),
      ...this.#paramStatus,
      backendKeyData(gatewayKey.processId, gatewayKey.secretKey),
      readyForQuery(String.fromCharCode(status) as 'I' | 'T' | 'E'),
    ]);
    this.#paramStatus = [];
    return greeting;
  }

  #maybeStart(): void {
    const params = this.#params;
    if (this.#started || params === undefined || this.#credential === undefined) return;
    this.#started = true;
    this.#auth = new UpstreamAuthenticator(
      this.config.upstreamUser,
      this.#credential,
      this.config.scramKeyScope,
    );
    this.io.toUpstream(startupMessage(params));
  }

  #authStep(frame: PgFrame): Promise<boolean> {
    return this.#auth!.step(frame.body).then(
      (step) => {
        if (step.done) this.#authenticated = true;
        else if (step.reply) this.io.toUpstream(step.reply);
        return true;
      },
      (e: unknown) => {
        const kind =
          isPosternError(e) && e.code === 'UPSTREAM_UNSUPPORTED_AUTH'
            ? 'upstream-unsupported-auth'
            : 'upstream-auth';
        this.io.fail({ kind, detail: messageOf(e) });
        return false;
      },
    );
  }

  #startupFrame(frame: PgFrame): void {
    const changed = readingChangeIn([frame]);
    if (changed) return this.io.fail(changed);
    if (this.#preflight) return this.#preflightFrame(frame);
    const step = startupStep(frame, this.#authenticated, this.#clientSettings);
    switch (step.kind) {
      case 'param':
        this.#paramStatus.push(step.raw);
        this.#reported.add(parameterStatus(frame.body)?.name ?? '');
        return;
      case 'key':
        this.#key = step.key;
        return;
      case 'ignore':
        return;
      case 'fail':
        return this.io.fail(step.reason);
      case 'ready': {
        // A target that does not say how it reads SQL cannot be checked against (policy only).
        const unreported = this.config.checker && REQUIRED_REPORTS.find((n) => !this.#reported.has(n));
        if (unreported) {
          return this.io.fail({
            kind: 'reading-changed',
            detail: `the target database did not report ${unreported}; Postern cannot check statements for it`,
          });
        }
        if (this.config.preflight?.length) {
          // Read what the gateway itself needs from the target before the client may start.
          this.#preflight = new PreflightRows();
          this.io.toUpstream(query(preflightText(this.config.preflight)));
          return;
        }
        return this.io.ready(step.status);
      }
    }
  }

  #preflightFrame(frame: PgFrame): void {
    let step: PreflightStep;
    try {
      step = this.#preflight!.frame(frame);
    } catch (e) {
      return this.io.fail({ kind: 'upstream-protocol', detail: messageOf(e) });
    }
    if (step.kind === 'failed') return this.io.fail({ kind: 'gateway-error', detail: step.detail });
    if (step.kind !== 'done') return;
    this.#preflight = undefined;
    const queries = this.config.preflight!;
    try {
      if (step.results.length !== queries.length)
        throw new Error('the catalog read returned too few results');
      queries.forEach((q, i) => q.done(step.results[i]!));
      this.#catalog = step.results;
    } catch (e) {
      return this.io.fail({ kind: 'gateway-error', detail: messageOf(e) });
    }
    this.io.ready(step.status);
  }
}
