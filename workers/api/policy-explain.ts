/**
 * The policy editor's helpers: `POST /policy-validation` checks a document against the
 * published schema without storing it (Cedar's problems with line and column, as a refused PUT
 * gives them), and `POST /policy-explain` ("try it") explains the decision a session would make
 * on one SQL statement, SSH request or Kubernetes request for a given person on a given
 * connection: the same policy set a session is given (edge/policy/policy-set.ts, a draft
 * document in place of its stored one), the same connect decision (workers/routes/connect.ts)
 * and the same gates (core/explain/).
 */
import { createRoute } from '@hono/zod-openapi';
import { PosternError, isPosternError } from '../../core/errors.ts';
import { explain, type TryRequest } from '../../core/explain/explain.ts';
import { policyPlaces } from '../../core/explain/policy-lines.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { readRequest } from '../../core/kube/request.ts';
import { validatePolicyText, type CompiledPolicies } from '../../core/policy/engine.ts';
import { policySubject } from '../../core/policy/principal.ts';
import type { SshRequest } from '../../core/ssh/ssh-gate.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import { GLOBAL_SCOPE, policiesForConnection, type PolicyRow } from '../../edge/db/policies-repo.ts';
import { policySetOf } from '../../edge/policy/policy-set.ts';
import {
  cedarReady,
  compiledPolicies,
  draftPolicies,
  sqlParser,
  type PolicySetSpec,
} from '../../edge/policy/runtime.ts';
import { connectDecision } from '../routes/connect.ts';
import { json, newApi, withDb } from './app.ts';
import { ExplainRequest, Explanation, PolicyValidation, ValidatePolicy } from './policy-explain-schemas.ts';
import { ErrorBody } from './schemas.ts';
import type { z } from '@hono/zod-openapi';

type Body = z.infer<typeof ExplainRequest>;

/** The request as the gate takes it; the gate itself refuses one that lacks a fact. */
function tryRequest(r: Body['request'], user: string): TryRequest {
  switch (r.kind) {
    case 'sql':
      return { kind: 'sql', sql: r.sql, searchPath: r.searchPath ?? ['public'], user };
    case 'ssh': {
      const { kind: _k, login, action, ...facts } = r;
      const request =
        action === undefined
          ? undefined
          : ({ action, ...facts } as Exclude<SshRequest, { action: 'ssh:login' }>);
      return { kind: 'ssh', login, ...(request ? { request } : {}) };
    }
    case 'kubernetes':
      return { kind: 'kubernetes', request: readRequest(r.method, r.path, r.query ?? '') };
  }
}

/** Which request kinds a connection's sessions can carry. */
const KIND_OF = { postgres: 'sql', ssh: 'ssh', kubernetes: 'kubernetes' } as const;

function refuseInvalid(text: string): void {
  const problems = validatePolicyText(text);
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new PosternError('INVALID_INPUT', `line ${first.line}, column ${first.column}: ${first.message}`, {
    field: 'draft.text',
    problems: problems.slice(0, 20),
  });
}

/** A draft is compiled for this answer only: it stays in no cache (runtime.ts draftPolicies). */
function compile(spec: PolicySetSpec, draft: boolean): CompiledPolicies {
  try {
    return draft ? draftPolicies(spec) : compiledPolicies(spec);
  } catch (e) {
    // A stored document that no longer parses refuses every session too; say which.
    if (isPosternError(e)) throw new PosternError('INVALID_INPUT', e.message);
    throw e;
  }
}

export const policyExplainApi = newApi()
  .openapi(
    createRoute({
      method: 'post',
      path: '/policy-validation',
      summary: 'Check a Cedar document against the schema without storing it',
      request: { body: { content: { 'application/json': { schema: ValidatePolicy } }, required: true } },
      responses: {
        200: json(PolicyValidation, "valid, or Cedar's problems with line and column"),
        400: json(ErrorBody, 'Invalid input'),
      },
    }),
    (c) => {
      cedarReady();
      const problems = validatePolicyText(c.req.valid('json').text).slice(0, 100);
      return c.json({ valid: problems.length === 0, problems }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/policy-explain',
      summary: 'Try it: the decision a session would make on one request, and the policies behind it',
      description:
        'Decided by the gates sessions use, over the policy set a session of the connection is given (global documents, its own, its allow-list); `draft` replaces one document for this answer only. Nothing is stored or audited.',
      request: { body: { content: { 'application/json': { schema: ExplainRequest } }, required: true } },
      responses: {
        200: json(
          Explanation,
          'The decision, each Cedar decision behind it and where its policies are written',
        ),
        400: json(
          ErrorBody,
          'Invalid input, a draft that does not validate (problems), or a request of another protocol',
        ),
        404: json(ErrorBody, 'No such connection'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      cedarReady();
      if (body.draft) refuseInvalid(body.draft.text);
      const { conn, rows } = await withDb(c, async (db) => {
        const conn = await getConnectionByName(db, body.connection);
        if (!conn) throw new PosternError('NOT_FOUND', `no connection named "${body.connection}"`);
        return { conn, rows: await policiesForConnection(db, conn.id) };
      });
      const wanted = KIND_OF[conn.protocol];
      if (body.request.kind !== wanted) {
        throw new PosternError(
          'INVALID_INPUT',
          `connection "${conn.name}" is a ${conn.protocol} connection: try a ${wanted} request`,
          { field: 'request.kind' },
        );
      }
      const spec = await policySetOf(conn, withDraft(rows, body.draft, conn.id));
      const policies = compile(spec, body.draft !== undefined);
      const identity: Identity = {
        issuer: body.as.issuer,
        subject: body.as.subject,
        groups: body.as.groups,
        attributes: body.as.claims as Record<string, string>,
        expiresAt: 0,
      };
      const held = body.grants.map((action, i) => ({ id: `try-${i}`, action, expiresAt: 0 }));
      const subject = policySubject(identity, conn.name);
      const result = explain({
        policies,
        subject,
        grants: body.grants,
        connect: connectDecision(spec, identity, conn.name, held),
        request: tryRequest(body.request, conn.username ?? ''),
        ...(body.request.kind === 'sql' ? { parser: await sqlParser() } : {}),
      });
      const named = [...result.steps.flatMap((s) => s.policies), ...(result.approval?.policies ?? [])];
      return c.json(
        { ...result, principal: subject.principal, policies: policyPlaces(spec.docs, named) },
        200,
      );
    },
  );

/** The stored documents with the draft in place of the one it names (or added). */
function withDraft(rows: PolicyRow[], draft: Body['draft'], connectionId: string): PolicyRow[] {
  if (!draft) return rows;
  const scope = draft.scope === 'global' ? GLOBAL_SCOPE : connectionId;
  const now = new Date();
  const row: PolicyRow = {
    id: 'draft',
    scope,
    name: draft.name,
    text: draft.text,
    createdAt: now,
    updatedAt: now,
  };
  const i = rows.findIndex((r) => r.scope === scope && r.name === draft.name);
  if (i >= 0) return rows.map((r, j) => (j === i ? { ...r, text: draft.text } : r));
  // Global documents come first (policiesForConnection's order).
  return draft.scope === 'global' ? [row, ...rows] : [...rows, row];
}
