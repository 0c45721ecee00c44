/**
 * The shape of an SSH request an approver's "approve this for N hours" covers: the connection,
 * the action, the target login and the request's own facts (the exact command, the operation
 * and path, the forwarded host and port), hashed as the audit chain hashes (canonical JSON,
 * SHA-256). Nothing is abstracted: `sudo systemctl restart nginx` is not `sudo systemctl stop
 * nginx`, and the same command as another login is another shape. The `protocol` field keeps
 * SSH shapes apart from SQL statement shapes (core/approvals/fingerprint.ts).
 */
import { canonicalJson } from '../audit/chain.ts';
import { sha256, toHex } from '../crypto/hmac-sync.ts';

const enc = new TextEncoder();

export function sshFingerprint(
  connection: string,
  action: string,
  login: string,
  facts: Record<string, unknown>,
): string {
  const shape = { v: 1, protocol: 'ssh', connection, action, login, facts };
  return toHex(sha256(enc.encode(canonicalJson(shape)))).slice(0, 32);
}
