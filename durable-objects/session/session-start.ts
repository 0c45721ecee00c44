/**
 * What the Worker hands a new SessionDO (header `x-postern-session`, set by the Worker only:
 * the Worker builds a fresh Request, so a client cannot inject it).
 */
import type { Identity } from '../../core/identity/identity.ts';
import type { TargetSpec } from '../../core/tunnel/protocol.ts';
import type { PolicySetSpec } from '../../workers/policy/runtime.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';

export interface SessionConnection {
  id: string;
  name: string;
  connectorId: string;
  target: TargetSpec;
  database: string;
  username: string;
  credential:
    { kind: 'encrypted'; keyId: string; ciphertext: string } | { kind: 'connector_ref'; ref: string };
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

export const SESSION_START_HEADER = 'x-postern-session';
// Policy documents travel here too: 50 documents of at most 32 KiB per scope (admin API limits).
export const MAX_SESSION_START_BYTES = 8 * 1024 * 1024;

export function encodeSessionStart(start: SessionStart): string {
  return encodeURIComponent(JSON.stringify(start));
}

export function decodeSessionStart(header: string | null): SessionStart | null {
  if (!header || header.length > MAX_SESSION_START_BYTES) return null;
  try {
    return JSON.parse(decodeURIComponent(header)) as SessionStart;
  } catch {
    return null;
  }
}
