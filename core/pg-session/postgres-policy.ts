/**
 * Everything that decides and rewrites one Postgres session's traffic, built once when the
 * session is prepared (postgres-module.ts): the statement gate (Cedar over the parse tree), the
 * masking rules left after this principal's `unmask` decisions, the catalog read masking needs,
 * and the audit record of every decision, written before a byte is forwarded.
 */
import { HmacSha256 } from '../crypto/hmac-sync.ts';
import { catalogQuery, parseCatalog } from '../mask/catalog.ts';
import { sessionMasking } from '../mask/config.ts';
import { EMPTY_CATALOG } from '../mask/lineage.ts';
import { ResultMasker } from '../mask/result-masker.ts';
import { redactMessage, redactSecrets } from '../audit/redact-secrets.ts';
import { auditedSql } from '../audit/statement-text.ts';
import type { CheckedProtocol, PreparedLookup, StatementVerdict } from './statement-flow.ts';
import { ValueMasker } from '../mask/value-masker.ts';
import { SqlGate } from '../policy/sql-gate.ts';
import type { CompiledPolicies } from '../policy/engine.ts';
import { TableResolver } from '../policy/table-resolver.ts';
import { parseRelations, RELATIONS_QUERY } from '../policy/relations-snapshot.ts';
import { statementFingerprint } from '../approvals/fingerprint.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import type { HeldRequest } from '../session-host/held-request.ts';
import type { ProtocolConnection, ProtocolServices, ProtocolStart } from '../session-host/protocol.ts';
import type { PgSessionConfig } from './types.ts';

export interface PostgresPolicy {
  gate: SqlGate;
  masker: ResultMasker;
  /** Rules lifted by `unmask` permits, for the audit trail. */
  unmasked: string[];
  config: Pick<PgSessionConfig, 'checker' | 'masker' | 'preflight'>;
}

const enc = new TextEncoder();

export function buildPostgresPolicy(
  start: ProtocolStart<ProtocolConnection>,
  services: ProtocolServices,
  parser: SqlParser,
  hooks: {
    /**
     * A name checked before may now resolve to another table (search_path, role or relations
     * changed): prepared statements must be checked again before they run.
     */
    resolutionChanged?: () => void;
  },
): PostgresPolicy {
  const conn = start.connection;
  const { policies, subject } = services;
  const audit = { append: services.audit };
  // Names resolve as the server resolves them, when some policy can tell tables apart, or when
  // a statement may be approved as a shape: the shape names the tables it was approved on.
  const resolver = policies.seesTables() || policies.holdsForApproval() ? new TableResolver() : undefined;
  const gate = new SqlGate(parser, policies, subject, services.grants, resolver);
  const masking = memoMasking(policies, start, () => sessionMasking(conn.masking, policies, subject));
  // Tokens are keyed per connection: the same value tokenizes the same way in every session of
  // the connection (joins across sessions line up) and differently on another connection.
  const key = new HmacSha256(enc.encode(`postern-masking-v1:${services.maskingSecret}`)).digest(
    enc.encode(conn.id),
  );
  const masker = new ResultMasker(
    masking.masked,
    EMPTY_CATALOG,
    new ValueMasker(masking.detectors, new HmacSha256(key)),
  );
  const config: PostgresPolicy['config'] = {
    checker: {
      // Rows or SQLSTATE and duration of what was forwarded, carried on the next audit event.
      results: { now: services.now, done: (r) => services.auditResult(r) },
      check: (sql, protocol, prepared) => checkAndAudit(sql, protocol, prepared),
      approvedRun: ({ statement, sql }) => {
        try {
          audit.append('approved_run', { statement, ...auditedSql(redactSecrets(sql, parser)) }, 'approved');
          return true;
        } catch {
          return false; // the host logged the failure (ProtocolServices.audit)
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
        } catch {
          // the host logged the failure (ProtocolServices.audit)
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
      if (services.coveredBySession(g.approval)) {
        v = { ...v, allowed: true, outcome: 'allow' };
        approvedBy = 'session';
      } else {
        const ticket: HeldRequest = {
          text: auditedSql(redacting()).sql,
          // From this text's own parse: a verdict found by shape carries an earlier text's tree.
          // With the tables its names resolved to now, and what each action was decided on:
          // the same text on other tables is another shape.
          fingerprint: statementFingerprint(parser.parse(sql).stmts?.map((st) => st.stmt) ?? [], [
            ...(g.resolved ?? []),
            ...g.decisions.map((d) => `${d.action} ${d.resource}`),
          ]),
          action: g.approval.action,
          approval: g.approval,
        };
        v = { ...v, hold: ticket };
      }
    }
    try {
      const text = redacting();
      // Built field by field (no spreads of conditional objects): this runs for every statement.
      const data: Record<string, unknown> = { ...auditedSql(text) };
      data['protocol'] = protocol;
      data['outcome'] = v.outcome;
      data['kinds'] = g.kinds;
      data['tables'] = g.tables;
      data['decisions'] = g.decisions;
      if (approvedBy) data['approvedBy'] = approvedBy;
      if (v.hold) data['held'] = true;
      else if (!v.allowed) data['refusal'] = redactMessage(v.message, sql, text);
      const seq = audit.append('statement', data, v.outcome);
      v = { ...v, audited: seq };
    } catch {
      // The host logged the failure (ProtocolServices.audit); fail closed.
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
      movedOn: () => resolver.movedOn(),
    });
  }
  return { gate, masker, unmasked: masking.unmasked, config };
}

const MAX_MEMO = 256;
type Masking = ReturnType<typeof sessionMasking>;
/** Per compiled policy set (one object per set and isolate: edge/policy/runtime.ts). */
const maskingMemo = new WeakMap<CompiledPolicies, Map<string, Masking>>();

/**
 * `unmask` decisions are a pure function of the policy set, the principal (identity, groups,
 * claims) and the masking rules, so sessions of the same principal in this isolate share them:
 * a reconnecting CI job does not pay a Cedar call per column and detector again.
 */
function memoMasking(
  policies: CompiledPolicies,
  start: ProtocolStart<ProtocolConnection>,
  compute: () => Masking,
): Masking {
  const key = JSON.stringify([
    start.identity.issuer,
    start.identity.subject,
    start.identity.groups,
    start.identity.attributes,
    start.connection.id,
    start.connection.masking,
  ]);
  let memo = maskingMemo.get(policies);
  if (!memo) maskingMemo.set(policies, (memo = new Map()));
  const hit = memo.get(key);
  if (hit) return hit;
  const value = compute();
  if (memo.size >= MAX_MEMO) memo.delete(memo.keys().next().value!);
  memo.set(key, value);
  return value;
}
