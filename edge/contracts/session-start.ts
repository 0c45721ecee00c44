/**
 * What the Worker hands a new SessionDO, by RPC (`SessionDO.begin`): only code holding the
 * SESSION binding can call it, and its size is bounded by the RPC limit (32 MiB), not by the
 * ~128 KB Cloudflare allows for a request's headers. The policy set alone can be 100 documents
 * of 32 KiB (admin API limits, workers/api/schemas.ts).
 */
import type { Identity } from '../../core/identity/identity.ts';
import type { TargetSpec } from '../../core/tunnel/protocol.ts';
import type { PolicySetSpec } from '../policy/runtime.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';

export interface SessionConnection {
  id: string;
  name: string;
  /** Which protocol module serves the session (absent: 'postgres'). */
  protocol?: 'postgres' | 'ssh';
  connectorId: string;
  target: TargetSpec;
  database: string;
  username: string;
  credential: (
    { kind: 'encrypted'; keyId: string; ciphertext: string } | { kind: 'connector_ref'; ref: string }
  ) & {
    /** What the secret is (absent: a password). */
    secretKind?: 'password' | 'private_key';
  };
  masking: MaskingConfig;
}

export interface SessionStart {
  sessionId: string;
  connection: SessionConnection;
  identity: Identity;
  /** The Cedar documents deciding every statement of the session. */
  policies: PolicySetSpec;
  /** Client software as reported by the CLI (`x-postern-client`), for the session record. */
  client?: string;
  /** The edge's own origin as the client reached it (for "how to approve" hints). */
  edgeUrl?: string;
  /** The principal's active access grants on the connection when the session began. */
  grants?: SessionGrant[];
}

export interface SessionGrant {
  id: string;
  /** Fed to Cedar in `context.grants`. */
  action: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}
