/**
 * A connection's credential as stored (docs/connections.md, "Credentials (write-only)"): a secret is sealed
 * with the credential keyring, AAD = the connection id, so a ciphertext copied to another row
 * does not open; a ref (`env:NAME`, `file:/path`) is kept as written and resolved by the
 * connector. Which kinds of secret each protocol takes is decided here.
 */
import { encryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { clientCertificatePem } from '../../core/kube/cluster-pem.ts';
import type { ConnectionProtocol } from '../../core/tunnel/protocol.ts';
import { invalid, type CredentialInput } from './connection-input.ts';
import type { connections, SecretKind } from './schema.ts';

type CredentialColumns = Pick<
  typeof connections.$inferSelect,
  'credentialKind' | 'credentialKeyId' | 'credentialCiphertext' | 'credentialRef' | 'credentialSecretKind'
>;

/** The secret kinds each protocol's credential may be; the first is a ref's default. */
const SECRET_KINDS: Record<ConnectionProtocol, readonly SecretKind[]> = {
  postgres: ['password'],
  ssh: ['private_key', 'password'],
  kubernetes: ['bearer_token', 'client_certificate'],
};

/** The secret a credential input seals, and its kind. */
function secretOf(credential: Exclude<CredentialInput, { ref: string }>): [string, SecretKind, string] {
  if ('privateKey' in credential) return [credential.privateKey, 'private_key', 'credential.privateKey'];
  if ('token' in credential) return [credential.token, 'bearer_token', 'credential.token'];
  if ('clientCertificate' in credential)
    return [
      clientCertificatePem(credential.clientCertificate, credential.clientKey),
      'client_certificate',
      'credential.clientCertificate',
    ];
  return [credential.password, 'password', 'credential.password'];
}

const KIND_WORDS: Record<SecretKind, string> = {
  password: 'a password',
  private_key: 'an SSH private key',
  bearer_token: 'a bearer token',
  client_certificate: 'a client certificate',
};

function credentialProblem(protocol: ConnectionProtocol): string {
  return `a ${protocol === 'ssh' ? 'SSH' : protocol === 'postgres' ? 'Postgres' : 'Kubernetes'} credential is ${SECRET_KINDS[protocol].map((k) => KIND_WORDS[k]).join(' or ')}`;
}

/** The credential columns of connection `id` for `credential`; refuses a kind the protocol does not take. */
export async function credentialColumns(
  credentialKeys: string,
  id: string,
  protocol: ConnectionProtocol,
  credential: CredentialInput,
): Promise<CredentialColumns> {
  const kinds = SECRET_KINDS[protocol];
  if ('ref' in credential) {
    if (credential.secretKind !== undefined && !kinds.includes(credential.secretKind))
      throw invalid('credential.secretKind', credentialProblem(protocol));
    return {
      credentialKind: 'connector_ref',
      credentialKeyId: null,
      credentialCiphertext: null,
      credentialRef: credential.ref,
      credentialSecretKind: credential.secretKind ?? kinds[0]!,
    };
  }
  const [secret, secretKind, field] = secretOf(credential);
  if (!kinds.includes(secretKind)) throw invalid(field, credentialProblem(protocol));
  // AAD = the connection id: a ciphertext copied into another row does not open.
  const sealed = await encryptCredential(await parseKeyring(credentialKeys), secret, id);
  return {
    credentialKind: 'encrypted',
    credentialKeyId: sealed.keyId,
    credentialCiphertext: sealed.ciphertext,
    credentialRef: null,
    credentialSecretKind: secretKind,
  };
}
