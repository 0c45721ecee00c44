/**
 * The shape of an SSH request an approver's "approve this for N hours" covers: the connection,
 * the action, the target login and the request's own facts (the exact command, the operation
 * and path, the forwarded host and port), hashed as the audit chain hashes (canonical JSON,
 * SHA-256). Nothing is abstracted: `sudo systemctl restart nginx` is not `sudo systemctl stop
 * nginx`, and the same command as another login is another shape. The `protocol` field keeps
 * SSH shapes apart from SQL statement shapes (core/approvals/fingerprint.ts).
 */
import { shapeHash } from '../approvals/fingerprint.ts';

export function sshFingerprint(
  connection: string,
  action: string,
  login: string,
  facts: Record<string, unknown>,
): string {
  return shapeHash({ v: 1, protocol: 'ssh', connection, action, login, facts });
}
