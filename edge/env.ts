/**
 * Bindings of the edge Worker and its Durable Objects (see wrangler.toml).
 * Secrets are marked; they never appear in logs, audit, API responses or error messages.
 */
import type { ConnectorRpc, NotifyRpc, SessionRpc } from './contracts/rpc.ts';

export interface Env {
  SESSION: DurableObjectNamespace<SessionRpc>;
  CONNECTOR: DurableObjectNamespace<ConnectorRpc>;
  /** Webhook deliveries about approval requests, one instance per delivery. */
  NOTIFY: DurableObjectNamespace<NotifyRpc>;
  /**
   * Audit events and session records on their way to the control plane (edge/contracts/shipment.ts):
   * the outboxes send, the Worker's `queue()` handler writes them (workers/queue/).
   */
  SHIPMENTS: Queue<string>;
  /** Secret. Control-plane Postgres URL (Neon in production). */
  DATABASE_URL: string;
  /** Local development only: `host:port/path` of a WebSocket-to-TCP relay for @neondatabase/serverless. */
  NEON_WS_PROXY?: string;
  /**
   * JSON array of trusted issuers, each
   * `{issuer, audience, jwksUri?, algorithms?, maxTokenLifetimeSeconds?, clockToleranceSeconds?,
   *   subjectClaim?, groupsClaim?, attributeClaims?}`.
   */
  TRUSTED_ISSUERS: string;
  /** Group (from a verified token) that may use the admin API. */
  ADMIN_GROUP?: string;
  /** Group whose members approve access requests (docs/approvals.md); defaults to ADMIN_GROUP. */
  ACCESS_APPROVER_GROUP?: string;
  /** Secret. Bootstrap admin token for first setup (compare in constant time). */
  ADMIN_BOOTSTRAP_TOKEN?: string;
  /** Secret. Credential-encryption keyring: `kid:base64key[,kid:base64key...]`, first one encrypts. */
  CREDENTIAL_KEYS: string;
  /**
   * Secret, optional. Keys masking tokens (HMAC); defaults to CREDENTIAL_KEYS. Changing it
   * changes every token.
   */
  MASKING_KEY?: string;
  /** Optional base domain: `<connection>.<BASE_DOMAIN>` routes to that connection. */
  BASE_DOMAIN?: string;
  /**
   * Optional: seconds a running session's lease lasts (core/session-host/liveness.ts; default 180).
   * A session that died without a goodbye is reported ended, reason unknown, at most this long after.
   */
  SESSION_LEASE_SECONDS?: string;
  /**
   * Secret, optional. Base64 of 32+ bytes: encrypts the web console's cookies and keys its CSRF
   * tokens (HKDF, core/web-session/keys.ts); defaults to the first CREDENTIAL_KEYS key. Changing
   * it signs everyone out of the console.
   */
  CONSOLE_SESSION_KEY?: string;
  /**
   * Secret, optional. JSON object `{ "<issuer>": "<client secret>" }` for the console clients of
   * TRUSTED_ISSUERS entries (`console.clientId`); an issuer without one is a public client (PKCE).
   */
  CONSOLE_CLIENT_SECRETS?: string;
  /** The web console's static files (wrangler.toml `[assets]`); absent in Node tests. */
  ASSETS?: Fetcher;
  /** Set to "1" to allow http:// issuers and JWKS (local development only). */
  ALLOW_INSECURE_ISSUERS?: string;
  /**
   * Set to "1" to let direct connections (reach 'direct') dial loopback and private addresses and
   * plain TCP (local development only: `postern dev` sets it). Off, the edge refuses them, so a
   * direct target cannot reach into the network the edge runs in (edge/direct-target-rules.ts).
   */
  ALLOW_PRIVATE_DIRECT_TARGETS?: string;
}
