/**
 * What a Kubernetes session needs for the responses that are streams rather than API objects
 * (docs/kubernetes.md "Exec, attach, port-forward" and "Logs"), in one place the module holds:
 * the session's terminal masking (the connection's named detectors, as SSH:
 * core/ssh/module/ssh-output-masking.ts) and its recordings (one byte budget for every exec and
 * attach of the session, as SSH: core/ssh/module/ssh-recordings.ts). Each call is the one the
 * module makes at that point of a request:
 *  - `upgrade` before forwarding a WebSocket upgrade: the subprotocols to offer (or a refusal);
 *  - `accepted` once the API server answered 101: the reader of an exec/attach stream (its
 *    messages both ways go through it), or none for a port-forward (its bytes pass);
 *  - `textFilter` for a `text` response (pods/log, text proxied): its masker, or none;
 *  - `finishAll` when the session ends (before its last audit event), `details` for it.
 */
import type { MaskingConfig } from '../../mask/config.ts';
import type { CompiledPolicies } from '../../policy/engine.ts';
import type { PolicySubject } from '../../policy/principal.ts';
import type { AuditKind } from '../../audit/chain.ts';
import type { OutputFilter } from '../../mask/output-filter.ts';
import { SshOutputMasking } from '../../ssh/module/ssh-output-masking.ts';
import { SshRecordings } from '../../ssh/module/ssh-recordings.ts';
import type { KubeRequest } from '../request.ts';
import { ExecStream } from './exec-stream.ts';
import { remoteCommandProtocol, upstreamSubprotocols, type SubprotocolChoice } from './subprotocols.ts';
import { textFilter } from './text-stream.ts';

/** The byte budget of a session's recordings when the host sets none (SSH's default). */
export const DEFAULT_MAX_RECORDING_BYTES = 16 * 1024 * 1024;

export interface KubeStreamServices {
  policies: CompiledPolicies;
  subject: PolicySubject;
  maskingSecret: string;
  audit(kind: AuditKind, data: Record<string, unknown>, outcome?: string | null): void;
  now(): number;
}

export class KubeStreamSession {
  readonly #masking: SshOutputMasking;
  readonly #recordings: SshRecordings;

  constructor(
    s: { sessionId: string; connectionId: string; masking: MaskingConfig; maxRecordingBytes?: number },
    services: KubeStreamServices,
    /** A recording piece could not be written: the session must end (fail closed). */
    failed: (error: Error) => void,
  ) {
    this.#masking = new SshOutputMasking(
      s.masking,
      services.policies,
      services.subject,
      services.maskingSecret,
      s.connectionId,
    );
    this.#recordings = new SshRecordings(
      s.sessionId,
      s.maxRecordingBytes ?? DEFAULT_MAX_RECORDING_BYTES,
      services,
      failed,
    );
  }

  /** The subprotocols to offer upstream for the client's `Sec-WebSocket-Protocol` values. */
  upgrade(kube: KubeRequest, offered: readonly string[]): SubprotocolChoice {
    if (
      kube.kind !== 'resource' ||
      (kube.action !== 'k8s:exec' && kube.action !== 'k8s:attach' && kube.action !== 'k8s:portforward')
    )
      return { refuse: 'a WebSocket upgrade of a request that is not exec, attach or port-forward' };
    return upstreamSubprotocols(kube.action, offered.join(','));
  }

  /**
   * The API server accepted the upgrade of mux stream `stream` with `protocol`: the exec or
   * attach reader, undefined for a port-forward, or a refusal (a protocol that was not offered).
   */
  accepted(
    stream: number,
    kube: KubeRequest,
    protocol: string | undefined,
  ): ExecStream | undefined | { refuse: string } {
    if (kube.kind !== 'resource') return { refuse: 'an upgrade of a request that is not a resource' };
    if (kube.action === 'k8s:portforward') return undefined;
    const chosen = remoteCommandProtocol(protocol);
    if (!chosen || (kube.action !== 'k8s:exec' && kube.action !== 'k8s:attach'))
      return { refuse: `the API server chose a subprotocol Postern does not read (${protocol ?? 'none'})` };
    const kind = kube.action === 'k8s:exec' ? 'exec' : 'attach';
    const filters = this.#masking.filters({ kind: 'exec', command: kube.command.join(' ') });
    return new ExecStream({
      protocol: chosen,
      kind,
      command: kube.command,
      ...(filters ? { filters } : {}),
      record: (event) => this.#recordings.record(stream, event),
    });
  }

  /** The masker of a text response, or undefined when the connection names no detector. */
  textFilter(): OutputFilter | undefined {
    return textFilter(this.#masking);
  }

  /** The session ends: recordings still open are finished. */
  finishAll(): void {
    this.#recordings.finishAll();
  }

  /** For `session_close`: values masked in streams, per detector, and streams recorded. */
  get details(): { streamMasked: Record<string, number>; recordings: number } {
    return {
      streamMasked: this.#masking.counts as Record<string, number>,
      recordings: this.#recordings.summaries.length,
    };
  }
}
