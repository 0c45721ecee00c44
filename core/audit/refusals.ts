/**
 * Which audit events record a refused request, for the session's `refusals` count (the
 * console's "with refusals" filter). Outcomes are those the gates and the approvals write
 * (docs/audit.md): a statement or SSH request denied by policy or refused whatever the policy,
 * and a held request that was denied or timed out. An approver's `deny` vote is not counted: the
 * `approval_decided` that follows it is.
 */
const REFUSED = new Set(['deny', 'unsafe', 'unparsable', 'unknown-prepared', 'denied', 'refused', 'expired']);

export function isRefusal(kind: string, outcome: string | null): boolean {
  return outcome !== null && kind !== 'approval_vote' && REFUSED.has(outcome);
}
