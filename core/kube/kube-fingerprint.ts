/**
 * The shape of a Kubernetes request an approver's "approve this for N hours" covers: the
 * connection, the action and every fact policy sees (verb, group, version, namespace, resource,
 * subresource, name, the exec command and container, the proxied path), hashed as SSH shapes
 * are (core/ssh/ssh-fingerprint.ts: canonical JSON, SHA-256). Deleting `web-1` is not deleting
 * `web-2`. The `protocol` field keeps Kubernetes shapes apart from SQL and SSH ones.
 */
import { shapeHash } from '../approvals/fingerprint.ts';

export function kubeFingerprint(connection: string, action: string, facts: Record<string, unknown>): string {
  return shapeHash({ v: 1, protocol: 'k8s', connection, action, facts });
}
