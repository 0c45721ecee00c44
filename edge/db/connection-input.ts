/**
 * What an admin writes to create or change a connection (the API's validated body), and the
 * checks on it that depend on the connection's protocol: the transport it may run over, whether
 * the edge may dial it directly, and PATCH fields it has no use for (refused, not ignored).
 * Each refusal is an INVALID_INPUT naming the field.
 */
import { PosternError } from '../../core/errors.ts';
import type { MaskingConfig } from '../../core/mask/config.ts';
import {
  directConnectionRefusal,
  type DirectTargetRules,
  type TargetReach,
} from '../../core/tunnel/direct-target.ts';
import { TLS_OF_PROTOCOL, type ConnectionProtocol, type TargetTls } from '../../core/tunnel/protocol.ts';
import type { SecretKind } from './schema.ts';

/**
 * Write-only secrets. `password` for Postgres and SSH; `privateKey` (PEM) for SSH; `token` (a
 * bearer token) or `clientCertificate` + `clientKey` (PEM) for Kubernetes; `ref` names where the
 * connector finds the secret (`secretKind` says which it is; default per protocol: SECRET_KINDS in connection-credentials.ts).
 */
export type CredentialInput =
  | { password: string }
  | { privateKey: string }
  | { token: string }
  | { clientCertificate: string; clientKey: string }
  | { ref: string; secretKind?: SecretKind };

interface CommonInput {
  /** Connector NAME. */
  connector: string;
  allow: { subjects: string[]; groups: string[] };
  masking?: MaskingConfig;
}

export interface PostgresConnectionInput extends CommonInput {
  protocol: 'postgres';
  target: { host: string; port: number; tls: TargetTls };
  /** 'direct': the edge dials the target itself (core/tunnel/direct-target.ts); default 'connector'. */
  reach?: TargetReach;
  database: string;
  username: string;
  credential: CredentialInput;
}

export interface SshConnectionInput extends CommonInput {
  protocol: 'ssh';
  target: { host: string; port: number; tls: TargetTls };
  credential: CredentialInput;
  /** `targetHostKey`: an OpenSSH public-key line, already checked and normalised. */
  ssh?: { targetHostKey?: string | undefined };
}

export interface KubernetesConnectionInput extends CommonInput {
  protocol: 'kubernetes';
  target: { host: string; port: number; tls: TargetTls };
  credential: CredentialInput;
  /** `ca`: PEM CERTIFICATE blocks, already checked (core/kube/cluster-pem.ts). */
  kubernetes: { ca?: string | undefined; impersonate: boolean };
}

export type ConnectionInput = PostgresConnectionInput | SshConnectionInput | KubernetesConnectionInput;

/** A PATCH: absent fields keep their value; `target` and `allow` merge field by field. */
export interface ConnectionPatch {
  connector?: string;
  /** Postgres only. */
  reach?: TargetReach;
  target?: Partial<ConnectionInput['target']>;
  database?: string;
  username?: string;
  credential?: CredentialInput;
  allow?: Partial<ConnectionInput['allow']>;
  masking?: MaskingConfig;
  /** SSH only. `targetHostKey: null` clears the pin: the next session learns it again. */
  ssh?: { targetHostKey?: string | null | undefined };
  /** Kubernetes only. `ca: null` drops the CA: the connector's own `--ca-file` or roots verify. */
  kubernetes?: { ca?: string | null | undefined; impersonate?: boolean | undefined };
}

/** A refusal of one input field. */
export const invalid = (field: string, message: string) =>
  new PosternError('INVALID_INPUT', `${field}: ${message}`, { field });

/** Refuses a direct connection the edge must not dial (core/tunnel/direct-target.ts). */
export function checkDirect(
  protocol: ConnectionProtocol,
  target: { host: string; port: number; tls: TargetTls },
  credentialKind: 'encrypted' | 'connector_ref',
  rules: DirectTargetRules,
): void {
  const why = directConnectionRefusal({ protocol, target, credentialKind }, rules);
  if (why) throw invalid('reach', why);
}

/** Refuses a transport the protocol cannot run over (core/tunnel/protocol.ts). */
export function checkTls(protocol: ConnectionProtocol, tls: TargetTls): void {
  if (TLS_OF_PROTOCOL[protocol].includes(tls)) return;
  throw invalid(
    'target.tls',
    protocol === 'ssh'
      ? `SSH connections take tls "none" (SSH encrypts itself; sshd speaks SSH from its first byte), not "${tls}"`
      : protocol === 'kubernetes'
        ? `Kubernetes connections take tls "tls" (an API server serves HTTPS only), not "${tls}"`
        : `"${tls}" is not a transport for ${protocol}`,
  );
}

/** Fields of a PATCH that the connection's protocol has no use for: refused, not ignored. */
export function checkPatchFits(protocol: ConnectionProtocol, patch: ConnectionPatch): void {
  if (protocol === 'ssh') {
    if (patch.database !== undefined) throw invalid('database', 'SSH connections have no database');
    if (patch.username !== undefined)
      throw invalid('username', 'SSH connections have no username (the SSH user name selects the login)');
  } else if (protocol === 'kubernetes') {
    if (patch.database !== undefined) throw invalid('database', 'Kubernetes connections have no database');
    if (patch.username !== undefined)
      throw invalid(
        'username',
        'Kubernetes connections have no username (the credential is the identity; impersonation names the caller)',
      );
  }
  if (protocol !== 'ssh' && patch.ssh !== undefined)
    throw invalid('ssh', 'only SSH connections have SSH settings');
  if (protocol !== 'kubernetes' && patch.kubernetes !== undefined)
    throw invalid('kubernetes', 'only Kubernetes connections have Kubernetes settings');
}
