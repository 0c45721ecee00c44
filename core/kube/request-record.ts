/**
 * What a Kubernetes request's audit event says, and the approvals' shape of its ticket: plain
 * data in, plain data out (no I/O, no clock), so kube-session.ts only does the recording.
 */
import type { ExchangeRequest } from '../session-host/request-exchange.ts';
import type { HeldApproval } from '../policy/gate-verdict.ts';
import type { KubeApprovalTicket, KubeAudit } from './kube-gate.ts';
import type { KubeMaskOptions } from './mask/object-masker.ts';
import { auditBody } from './mask/request-audit.ts';
import type { KubeRequest } from './request.ts';

/** Longest query kept in an audit event. */
const MAX_AUDIT_QUERY = 1024;

/**
 * The fields of one `kube_request` event: the request, the gate's audit, the outcome recorded
 * (`allow` when the session's approval covers a held request) and the body as audited.
 */
export function requestAuditFields(
  n: number,
  req: ExchangeRequest,
  kube: KubeRequest,
  audit: KubeAudit,
  outcome: string,
  heldCovered: boolean,
  values: KubeMaskOptions['values'],
): Record<string, unknown> {
  const query = req.query.length > MAX_AUDIT_QUERY ? `${req.query.slice(0, MAX_AUDIT_QUERY)}…` : req.query;
  const body =
    kube.kind === 'resource' && req.body.byteLength > 0
      ? { body: auditBody(kube, header(req.headers, 'content-type'), req.body, values) }
      : {};
  return {
    request: n,
    method: req.method,
    path: req.path,
    ...(query ? { query } : {}),
    ...audit,
    outcome,
    ...(heldCovered ? { approvedBy: 'session' } : {}),
    ...body,
  };
}

/** The approvals' shape of a Kubernetes ticket (they read the action and resource as text). */
export function heldApproval(t: KubeApprovalTicket, connection: string): HeldApproval {
  return { ...t.approval, action: t.action as unknown as HeldApproval['action'], resource: connection };
}

/** The first value of a header, by its lower-case name. */
export function header(list: Array<[string, string]>, name: string): string | undefined {
  return list.find(([n]) => n.toLowerCase() === name)?.[1];
}
