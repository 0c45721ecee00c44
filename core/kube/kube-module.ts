/**
 * Kubernetes behind the session host (core/session-host/protocol.ts), issue 12: a session is
 * one token's use of one connection, many HTTP requests (kubectl's, in parallel) over ONE data
 * channel carrying the HTTP stream mux (core/tunnel/http-mux/, docs/http-mux.md). The module
 * has no client socket: the host hands it each request (`requests`,
 * core/session-host/request-exchange.ts) and it answers through the reply it is given.
 *
 * Per request, before a byte is forwarded: read as the API server reads it (request.ts),
 * decided by Cedar (kube-gate.ts; discovery allowed), audited with its body in its audit form
 * (mask/request-audit.ts: no Secret value); refused with a `v1 Status` (refusal.ts), held for
 * approval (one at a time), or forwarded with the headers rewritten (headers.ts: the client's
 * Authorization and Impersonate-* dropped, the connection's token and the caller's
 * impersonation added; Accept asks for JSON where masking may be needed). Its response is
 * passed, masked or refused (kube-response.ts), then audited with its status and size.
 */
import type { ProtocolConnection, ProtocolModule } from '../session-host/protocol.ts';
import { kubeValueMasker } from './kube-detectors.ts';
import { KubeGate } from './kube-gate.ts';
import { KubeProtocolSession } from './kube-session.ts';
import type { KubeCaller } from './headers.ts';
import { secretsUnmasked, SECRETS_COLUMN } from './mask/unmask.ts';
import { refusalStatus } from './refusal.ts';
import { internalError, serviceUnavailable, statusResponse, unauthorized } from './status.ts';

/** A Kubernetes connection as the host hands it over (edge/contracts/session-start.ts). */
export interface KubeConnection extends ProtocolConnection {
  kubernetes?: { ca: string | null; impersonate: boolean; secretKind: 'bearer_token' | 'client_certificate' };
}

export interface KubeRuntime {
  /** Bytes of asciicast every exec/attach recording of one session may take, in all. */
  maxRecordingBytes?: number;
}

export function kubeModule(runtime: KubeRuntime = {}): ProtocolModule<KubeConnection> {
  return {
    protocol: 'kubernetes',
    prepare: async (start, services) => {
      const conn = start.connection;
      if (!conn.kubernetes) throw new Error(`connection "${conn.name}" has no Kubernetes settings`);
      const gate = new KubeGate(services.policies, services.subject, services.grants);
      const clear = secretsUnmasked(services.policies, services.subject);
      const detectors = kubeValueMasker(
        conn.masking,
        services.policies,
        services.subject,
        services.maskingSecret,
        conn.id,
      );
      const email = start.identity.attributes['email'];
      const caller: KubeCaller = {
        issuer: start.identity.issuer,
        subject: start.identity.subject,
        groups: start.identity.groups,
        ...(email ? { email } : {}),
      };
      const settings = {
        connection: conn.name,
        exp: start.identity.expiresAt,
        impersonate: conn.kubernetes.impersonate,
        caller,
        streams: {
          sessionId: start.sessionId,
          connectionId: conn.id,
          masking: conn.masking,
          ...(runtime.maxRecordingBytes !== undefined
            ? { maxRecordingBytes: runtime.maxRecordingBytes }
            : {}),
        },
      };
      return {
        openDetails: { unmasked: [...(clear ? [SECRETS_COLUMN] : []), ...detectors.unmasked] },
        open: (io) =>
          new KubeProtocolSession(
            settings,
            gate,
            { secrets: !clear, ...(detectors.values ? { values: detectors.values } : {}) },
            services,
            io,
          ),
      };
    },
    exchangeRefusal: (kind, message) => {
      const s =
        kind === 'unauthenticated'
          ? unauthorized()
          : kind === 'too-large'
            ? refusalStatus({ kind: 'body-too-large', limit: Number(message) })
            : kind === 'unavailable'
              ? serviceUnavailable(message)
              : internalError(message);
      const r = statusResponse(kind === 'unauthenticated' ? { ...s, message } : s);
      return { status: r.code, headers: Object.entries(r.headers), body: r.body };
    },
  };
}
