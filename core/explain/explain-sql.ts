/**
 * Try-it for one SQL text (one query: its statements run in order, as the session's statement
 * flow checks a Query message), through the session's own SqlGate. A session reads the target's
 * search_path and catalog to resolve table names (core/policy/table-resolver.ts); try-it has no
 * target, so an unqualified name is read as a table of the first schema of `searchPath`.
 */
import type { CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';
import { SqlGate } from '../policy/sql-gate.ts';
import { TableResolver } from '../policy/table-resolver.ts';
import { USER_ENTRY } from '../sql/search-path.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { step } from './explain-step.ts';
import type { ExplainOutcome, Explanation } from './explain-types.ts';

export function explainSql(
  policies: CompiledPolicies,
  subject: PolicySubject,
  grants: () => string[],
  parser: SqlParser,
  r: { sql: string; searchPath: string[]; user: string },
): Explanation {
  const notes = [
    "Masking may still refuse a statement that would copy masked values (docs/masking.md); try-it does not read the target's catalog.",
  ];
  // The session's rule (core/pg-session/postgres-policy.ts): names resolve when a policy can
  // tell tables apart or a statement may be approved as a shape.
  let resolver: TableResolver | undefined;
  if (policies.seesTables() || policies.holdsForApproval()) {
    resolver = new TableResolver();
    const schema = r.searchPath.find((s) => s !== USER_ENTRY) ?? 'public';
    resolver.useSnapshot({
      path: r.searchPath,
      user: r.user,
      schemas: new Map([[schema, new Set<string>()]]),
      partial: new Set([schema]),
      truncated: false,
    });
    notes.push(`Unqualified table names are read as tables of schema "${schema}".`);
  }
  const gate = new SqlGate(parser, policies, subject, grants, resolver);
  const v = gate.check(r.sql);
  const steps = v.decisions.map((d) => step(policies, d.action, d.resource, d));
  const decision: ExplainOutcome =
    v.outcome === 'allow' || v.outcome === 'deny' || v.outcome === 'approval' || v.outcome === 'unparsable'
      ? v.outcome
      : 'unsafe';
  return {
    decision,
    message: v.message,
    steps,
    ...(v.outcome === 'approval' && v.approval
      ? {
          approval: {
            group: v.approval.group,
            minApprovals: v.approval.minApprovals,
            timeout: v.approval.timeout,
            policies: v.approval.policies,
            reasons: v.approval.reasons ?? [],
          },
        }
      : {}),
    notes,
  };
}
