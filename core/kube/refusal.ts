/**
 * What a Kubernetes client is told for each way the gateway refuses (style.md #4: the detail
 * is in the audit event; the client gets a Status kubectl prints as the server's own). One
 * exhaustive switch, so a new refusal cannot go out unshaped.
 */
import type { KubeTarget } from './kube-gate.ts';
import type { KubeRefusedRequest } from './request.ts';
import {
  badRequest,
  forbidden,
  internalError,
  methodNotAllowed,
  serviceUnavailable,
  timeout,
  tooLarge,
  unauthorized,
  type KubeStatus,
} from './status.ts';

export type KubeRefusal =
  /** No valid token (missing, expired, another audience): the same words whatever the cause. */
  | { kind: 'unauthenticated' }
  /** Cedar denied (`message` from the gate: the policy, its reason, what to do). */
  | { kind: 'policy'; target: KubeTarget; message: string }
  /** The request was held and the approvers denied it, or nobody decided in time. */
  | { kind: 'approval-denied' | 'approval-expired'; target: KubeTarget; message: string }
  /** Read as uncertain or unserved before policy (request.ts). */
  | { kind: 'request'; request: KubeRefusedRequest }
  | { kind: 'body-too-large'; limit: number }
  /** A response Postern cannot mask (its type, its size, its shape). */
  | { kind: 'unmaskable'; why: string }
  | { kind: 'cluster-unreachable' }
  | { kind: 'cluster-timeout' };

export function refusalStatus(r: KubeRefusal): KubeStatus {
  switch (r.kind) {
    case 'unauthenticated':
      return unauthorized();
    case 'policy':
    case 'approval-denied':
    case 'approval-expired':
      return forbidden(r.target, r.message);
    case 'request':
      switch (r.request.status) {
        case 'bad-request':
          return badRequest(`Postern refused ${r.request.why}`);
        case 'method':
          return methodNotAllowed(`Postern refused ${r.request.why}`);
        case 'not-allowed':
          return forbidden({ group: '', resource: '', name: '' }, `Postern does not pass ${r.request.why}`);
      }
      break;
    case 'body-too-large':
      return tooLarge(`Postern takes request bodies up to ${r.limit} bytes`);
    case 'unmaskable':
      return internalError(`Postern refused to pass ${r.why}`);
    case 'cluster-unreachable':
      return serviceUnavailable('Postern cannot reach the cluster of this connection');
    case 'cluster-timeout':
      return timeout('the cluster did not answer in time');
  }
  return internalError('Postern refused the request');
}
