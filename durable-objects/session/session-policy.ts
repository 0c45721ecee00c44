/**
 * Everything that decides and rewrites one session's traffic, built once at session start from
 * what the Worker handed over: the statement gate (Cedar over the parse tree), the masking rules
 * left after this principal's `unmask` decisions, and the catalog read masking needs.
 */
import { HmacSha256 } from '../../core/crypto/hmac-sync.ts';
import { catalogQuery, parseCatalog } from '../../core/mask/catalog.ts';
import { sessionMasking } from '../../core/mask/config.ts';
import { EMPTY_CATALOG } from '../../core/mask/lineage.ts';
import { ResultMasker } from '../../core/mask/result-masker.ts';
import { redactMessage, redactSecrets } from '../../core/audit/redact-secrets.ts';
import { auditedSql } from '../../core/audit/statement-text.ts';
import type {
  CheckedProtocol,
  PreparedLookup,
  StatementVerdict,
} from '../../core/pg-session/statement-flow.ts';
import type { AuditLog } from './audit-log.ts';
import { ValueMasker } from '../../core/mask/value-masker.ts';
import { policySubject } from '../../core/policy/principal.ts';
import { SqlGate } from '../../core/policy/sql-gate.ts';
import type { HeldApproval } from '../../core/policy/gate-verdict.ts';
import { TableResolver } from '../../core/policy/table-resolver.ts';
import { parseRelations, RELATIONS_QUERY } from '../../core/policy/relations-snapshot.ts';
import { statementFingerprint } from '../../core/approvals/fingerprint.ts';
import type { ApprovalTicket } from './approval-types.ts';
import type { PgSessionConfig } from '../../core/pg-session/types.ts';
import { compiledPolicies, sqlParser } from '../../edge/policy/runtime.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';

export interface SessionPolicy {
  gate: SqlGate;
  /** Would `connect` still be allowed with only these grants? (A grant ended mid-session.) */
  connectAllowed(grants: string[]): boolean;
  masker: ResultMasker;
  /** Rules lifted by `unmask` permits, for the audit trail. */
  unmasked: string[];
  config: Pick<PgSessionConfig, 'checker' | 'masker' | 'preflight'>;
}

const enc = new TextEncoder();

/** Throws when the stored policy set no longer compiles (the caller refuses the session). */
export async function buildSessionPolicy(
  start: SessionStart,
  maskingSecret: string,
  audit: AuditLog,
  hooks: {
    /** The session's active grant actions now (Cedar's `context.grants`). */
    grants: () => string[];
    /** An earlier "approve for this session" covers this approval. */
    coveredBySession: (a: HeldApproval) => boolean;
    /**
     * A name checked before may now resolve to another table (search_path, role or relations
     * changed): prepared statements must be checked again before they run.
     */
    resolutionChanged?: () => void;
  },
): Promise<SessionPolicy> {
  const conn = start.connection;
  const policies = compiledPolicies(start.policies);
  const subject = policySubject(start.identity, conn.name);
  const parser = await sqlParser();
  // Names resolve as the server resolves them, when some policy can tell tables apart, or when
  // a statement may be approved as a shape: the shape names the tables it was approved on.
  const resolver = policies.seesTables() || policies.holdsForApproval() ? new TableResolver() : undefined;
  const gate = new SqlGate(parser, policies, subject, hooks.grants, resolver);
  const masking = memoMasking(start, () => sessionMasking(conn.masking, policies, subject));
  // Tokens are keyed per connection: the same value tokenizes the same way in every session of
  // the connection (joins across sessions line up) and differently on another connection.
  const key = new HmacSha256(enc.encode(`postern-masking-v1:${maskingSecret}`)).digest(enc.encode(conn.id));
  const masker = new ResultMasker(
    masking.masked,
    EMPTY_CATALOG,
    new ValueMasker(masking.detectors, new HmacSha256(key)),
  );
  const config: SessionPolicy['config'] = {
    checker: {
      check: (sql, protocol, prepared) => checkAndAudit(sql, protocol, prepared),
      approvedRun: ({ statement, sql }) => {
        try {
          audit.append('approved_run', { statement, ...auditedSql(redactSecrets(sql, parser)) }, 'approved');
          return true;
        } catch (e) {
          console.error(
            JSON.stringify({ msg: 'audit write failed; run refused', error: (e as Error).message }),
          );
          return false;
        }
      },
      refusedRun: ({ sql, message }) => {
        // Refused either way: a failed write only loses the record of a refusal.
        try {
          audit.append(
            'run_refused',
            { ...auditedSql(redactSecrets(sql, parser)), refusal: message },
            'deny',
          );
        } catch (e) {
          console.error(JSON.stringify({ msg: 'audit write failed', error: (e as Error).message }));
        }
      },
    },
    masker,
  };
  // Policy, then masking's own refusals, then the audit record: all before a byte is forwarded.
  const checkAndAudit = (
    sql: string,
    protocol: CheckedProtocol,
    prepared: PreparedLookup,
  ): StatementVerdict => {
    const epoch = gate.resolutionEpoch;
    let v: StatementVerdict & { outcome: string } = gate.check(sql, prepared);
    if (gate.resolutionEpoch !== epoch) hooks.resolutionChanged?.();
    // Asked again once the server has answered what it depends on: decided (and recorded) then.
    if (v.wait) return v;
    const g = v as ReturnType<SqlGate['check']>;
    const waits = v.outcome === 'approval' && g.approval !== undefined;
    if ((v.allowed || waits) && v.statements) {
      const refusal = masker.refusal(v.statements);
      if (refusal) v = { ...v, allowed: false, outcome: 'deny', message: refusal };
    }
    let approvedBy: string | undefined;
    // Redacted once for the ticket and the event (it scans the whole text).
    let redacted: string | undefined;
    const redacting = () => (redacted ??= redactSecrets(sql, parser));
    if (v.outcome === 'approval' && g.approval) {
      if (hooks.coveredBySession(g.approval)) {
        v = { ...v, allowed: true, outcome: 'allow' };
        approvedBy = 'session';
      } else {
        const ticket: ApprovalTicket = {
          sql: auditedSql(redacting()).sql,
          // From this text's own parse: a verdict found by shape carries an earlier text's tree.
          // With the tables its names resolved to now, and what each action was decided on:
          // the same text on other tables is another shape.
          fingerprint: statementFingerprint(parser.parse(sql).stmts?.map((st) => st.stmt) ?? [], [
            ...(g.resolved ?? []),
            ...g.decisions.map((d) => `${d.action} ${d.resource}`),
          ]),
          approval: g.approval,
        };
        v = { ...v, hold: ticket };
      }
    }
    try {
      const text = redacting();
      audit.append(
        'statement',
        {
          ...auditedSql(text),
          protocol,
          outcome: v.outcome,
          kinds: g.kinds,
          tables: g.tables,
          decisions: g.decisions,
          ...(approvedBy ? { approvedBy } : {}),
          ...(v.hold ? { held: true } : v.allowed ? {} : { refusal: redactMessage(v.message, sql, text) }),
        },
        v.outcome,
      );
    } catch (e) {
      console.error(
        JSON.stringify({ msg: 'audit write failed; statement refused', error: (e as Error).message }),
      );
      return { allowed: false, message: 'statement refused: the audit log could not record it' };
    }
    return v;
  };
  config.preflight = [];
  if (masking.masked.size > 0) {
    config.preflight.push({
      sql: catalogQuery(masking.masked),
      done: (rows) => masker.useCatalog(parseCatalog(rows, masking.masked)),
    });
  }
  if (resolver) {
    config.preflight.push({
      sql: RELATIONS_QUERY,
      done: (rows) => resolver.useSnapshot(parseRelations(rows)),
    });
  }
  const connectAllowed = (grants: string[]) =>
    policies.authorize({
      principal: subject.principal,
      action: 'connect',
      resource: subject.connection,
      context: { grants },
      entities: subject.entities,
    }).effect === 'allow';
  return { gate, connectAllowed, masker, unmasked: masking.unmasked, config };
}

const MAX_MEMO = 256;
const maskingMemo = new Map<string, ReturnType<typeof sessionMasking>>();

/**
 * `unmask` decisions are a pure function of the policy set, the principal (identity, groups,
 * claims) and the masking rules, so sessions of the same principal in this isolate share them:
 * a reconnecting CI job does not pay a Cedar call per column and detector again.
 */
function memoMasking(start: SessionStart, compute: () => ReturnType<typeof sessionMasking>) {
  const key = JSON.stringify([
    start.policies.key,
    start.identity.issuer,
    start.identity.subject,
    start.identity.groups,
    start.identity.attributes,
    start.connection.id,
    start.connection.masking,
  ]);
  const hit = maskingMemo.get(key);
  if (hit) return hit;
  const value = compute();
  if (maskingMemo.size >= MAX_MEMO) maskingMemo.delete(maskingMemo.keys().next().value!);
  maskingMemo.set(key, value);
  return value;
}
