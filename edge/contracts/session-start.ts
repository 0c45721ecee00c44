/**
 * What the Worker hands a new SessionDO, by RPC (`SessionDO.begin`): only code holding the
 * SESSION binding can call it, and its size is bounded by the RPC limit (32 MiB), not by the
 * ~128 KB Cloudflare allows for a request's headers. The policy set alone can be 100 documents
 * of 32 KiB (admin API limits, workers/api/schemas.ts).
 */
import type { Identity } from '../../core/identity/identity.ts';
import type { ConnectionProtocol, TargetSpec } from '../../core/tunnel/protocol.ts';
import type { PolicySetSpec } from '../policy/runtime.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';
import type { SessionRecord } from '../db/session-records.ts';

/** What the credential is (SSH only: Postgres credentials are passwords). */
export type SecretKind = 'password' | 'private_key';

export interface SessionConnection {
  id: string;
  name: string;
  /**
   * Which protocol module serves the session and which transport the connector opens (absent:
   * 'postgres'; the connection cache always sets it).
   */
  protocol?: ConnectionProtocol;
  /** For 'direct' too: its ConnectorDO keeps the session's cancel key and record. */
  connectorId: string;
  target: TargetSpec;
  /**
   * 'direct': the SessionDO dials the target itself (durable-objects/session/direct-target.ts);
   * absent: the connector does.
   */
  reach?: 'direct';
  /** Postgres only; '' for SSH (the SSH user name the client types selects the login). */
  database: string;
  username: string;
  /**
   * `encrypted`: sealed with the credential keyring, AAD = the connection id
   * (core/crypto/credentials.ts). `connector_ref`: the connector resolves it and sends it in the
   * channel hello. `secretKind` says what the secret is (absent: a password; SSH: a password or
   * a private key in PEM).
   */
  credential: (
    { kind: 'encrypted'; keyId: string; ciphertext: string } | { kind: 'connector_ref'; ref: string }
  ) & { secretKind?: SecretKind };
  masking: MaskingConfig;
  /** SSH only. */
  ssh?: SessionSsh;
  /** Kubernetes only. */
  kubernetes?: SessionKubernetes;
}

export interface SessionKubernetes {
  /** The cluster CA (PEM) the dial carries; null = the connector's own CA file or roots. */
  ca: string | null;
  /** Add Impersonate-User/-Group from the verified caller (core/kube/headers.ts). */
  impersonate: boolean;
  /**
   * What `credential` holds: a bearer token (sent as `Authorization`), or a client certificate
   * (PEM: certificate blocks then the key) the connector presents in TLS.
   */
  secretKind: 'bearer_token' | 'client_certificate';
}

export interface SessionSsh {
  /**
   * The connection's gateway host key: PKCS#8 PEM sealed with the credential keyring under the
   * AAD `hostKeyAad(connection id)`; open it with `openGatewayHostKey` (core/ssh/gateway-host-key.ts).
   */
  hostKey: { keyId: string; ciphertext: string };
  /**
   * The target's pinned host key (`type base64`), or null: learn it on this session's first
   * login, record it with `learnTargetHostKey` (edge/db/connections-repo.ts, compare-and-set)
   * and audit `target_host_key_learned`.
   */
  targetHostKey: string | null;
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
  /**
   * Set when the Worker dials the connector itself while `begin` is on its way (edge/session-dial.ts):
   * the SessionDO then dials nothing, takes the channel token by this hash and waits for the
   * dial's answer (`dialed`). Absent: the object dials (request-oriented sessions).
   */
  dialing?: SessionDialing;
}

/** What the Worker's dial (edge/session-dial.ts `dialAhead`) tells the SessionDO up front. */
export interface SessionDialing {
  /** SHA-256 (hex) of the one-time channel token the dial request carries. */
  channelTokenHash: string;
  /** The session's first record, as the ConnectorDO got it with the dial. */
  record: SessionRecord;
}

export interface SessionGrant {
  id: string;
  /** Fed to Cedar in `context.grants`. */
  action: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}
