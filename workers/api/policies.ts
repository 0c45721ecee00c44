/**
 * /policies (global) and /connections/{name}/policies: Cedar documents, validated against the
 * published schema (/policy-schema) before they are stored. A bad document is refused with
 * Cedar's own message and its line and column.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PosternError } from '../../core/errors.ts';
import { validatePolicyText } from '../../core/policy/engine.ts';
import { CEDAR_SCHEMA } from '../../core/policy/schema.ts';
import type { AdminEnv } from '../auth/admin.ts';
import type { Db } from '../../edge/db/client.ts';
import { getConnectionByName } from '../../edge/db/connections-repo.ts';
import {
  deletePolicy,
  getPolicy,
  GLOBAL_SCOPE,
  listPolicies,
  putPolicy,
  type PolicyRow,
} from '../../edge/db/policies-repo.ts';
import { cedarReady } from '../../edge/policy/runtime.ts';
import { json, logAdminAction, newApi, withDb } from './app.ts';
import {
  ConnectionPolicyParam,
  ErrorBody,
  MAX_POLICIES_PER_SCOPE,
  NameParam,
  Policy,
  PutPolicy,
} from './schemas.ts';

const present = (row: PolicyRow, scopeName: string) => ({
  name: row.name,
  scope: scopeName,
  text: row.text,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The scope id of a connection (its id; policies follow the connection, not its name). */
async function connectionScope(db: Db, name: string): Promise<string> {
  const conn = await getConnectionByName(db, name);
  if (!conn) throw new PosternError('NOT_FOUND', `no connection named "${name}"`);
  return conn.id;
}

/** Validates, then stores; a 400 with Cedar's problems when the text does not validate. */
async function put(
  c: Context<AdminEnv>,
  scope: (db: Db) => Promise<string>,
  scopeName: string,
  name: string,
  text: string,
) {
  cedarReady();
  const problems = validatePolicyText(text);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new PosternError('INVALID_INPUT', `line ${first.line}, column ${first.column}: ${first.message}`, {
      field: 'text',
      problems: problems.slice(0, 20),
    });
  }
  const result = await withDb(c, async (db) => {
    const s = await scope(db);
    const existing = await listPolicies(db, s);
    if (existing.length >= MAX_POLICIES_PER_SCOPE && !existing.some((p) => p.name === name)) {
      throw new PosternError(
        'CONFLICT',
        `at most ${MAX_POLICIES_PER_SCOPE} policy documents per scope; merge some`,
      );
    }
    return putPolicy(db, s, name, text);
  });
  logAdminAction(c, result.created ? 'policy.create' : 'policy.update', `${scopeName}/${name}`);
  return { status: result.created ? (201 as const) : (200 as const), body: present(result.row, scopeName) };
}

const invalid = {
  400: json(ErrorBody, 'Invalid name, or the policy does not validate (problems list line and column)'),
};

export const policiesApi = newApi()
  .openapi(
    createRoute({
      method: 'get',
      path: '/policy-schema',
      summary: 'The Cedar schema policies are validated against',
      responses: { 200: json(z.object({ schema: z.string() }), 'Cedar schema (human-readable syntax)') },
    }),
    (c) => c.json({ schema: CEDAR_SCHEMA }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/policies',
      summary: 'Global policy documents',
      responses: { 200: json(z.object({ policies: z.array(Policy) }), 'Global documents') },
    }),
    async (c) => {
      const rows = await withDb(c, (db) => listPolicies(db, GLOBAL_SCOPE));
      return c.json({ policies: rows.map((r) => present(r, GLOBAL_SCOPE)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/policies/{name}',
      summary: 'Create or replace a global policy document',
      request: {
        params: NameParam,
        body: { content: { 'application/json': { schema: PutPolicy } }, required: true },
      },
      responses: {
        200: json(Policy, 'Replaced'),
        201: json(Policy, 'Created'),
        ...invalid,
        409: json(ErrorBody, 'Too many documents'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const r = await put(c, async () => GLOBAL_SCOPE, GLOBAL_SCOPE, name, c.req.valid('json').text);
      return c.json(r.body, r.status);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/policies/{name}',
      summary: 'One global policy document',
      request: { params: NameParam },
      responses: { 200: json(Policy, 'The document'), 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const row = await withDb(c, (db) => getPolicy(db, GLOBAL_SCOPE, name));
      if (!row) throw new PosternError('NOT_FOUND', `no policy named "${name}"`);
      return c.json(present(row, GLOBAL_SCOPE), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/policies/{name}',
      summary: 'Delete a global policy document',
      request: { params: NameParam },
      responses: { 204: { description: 'Deleted' }, 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await withDb(c, (db) => deletePolicy(db, GLOBAL_SCOPE, name));
      logAdminAction(c, 'policy.delete', `global/${name}`);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{name}/policies',
      summary: "A connection's policy documents",
      request: { params: NameParam },
      responses: {
        200: json(z.object({ policies: z.array(Policy) }), 'Documents'),
        404: json(ErrorBody, 'Not found'),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const rows = await withDb(c, async (db) => listPolicies(db, await connectionScope(db, name)));
      return c.json({ policies: rows.map((r) => present(r, name)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/connections/{name}/policies/{policy}',
      summary: "Create or replace one of a connection's policy documents",
      request: {
        params: ConnectionPolicyParam,
        body: { content: { 'application/json': { schema: PutPolicy } }, required: true },
      },
      responses: {
        200: json(Policy, 'Replaced'),
        201: json(Policy, 'Created'),
        ...invalid,
        404: json(ErrorBody, 'No such connection'),
        409: json(ErrorBody, 'Too many documents'),
      },
    }),
    async (c) => {
      const { name, policy } = c.req.valid('param');
      const r = await put(c, (db) => connectionScope(db, name), name, policy, c.req.valid('json').text);
      return c.json(r.body, r.status);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{name}/policies/{policy}',
      summary: "Delete one of a connection's policy documents",
      request: { params: ConnectionPolicyParam },
      responses: { 204: { description: 'Deleted' }, 404: json(ErrorBody, 'Not found') },
    }),
    async (c) => {
      const { name, policy } = c.req.valid('param');
      await withDb(c, async (db) => deletePolicy(db, await connectionScope(db, name), policy));
      logAdminAction(c, 'policy.delete', `${name}/${policy}`);
      return c.body(null, 204);
    },
  );
