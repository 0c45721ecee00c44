/**
 * Shared by the routes that authenticate the caller's own OIDC token (approvals, access
 * requests and grants): the identity variable, body validation and the per-request database.
 */
import type { Context } from 'hono';
import { z } from '@hono/zod-openapi';
import type { PrincipalRef } from '../../core/approvals/types.ts';
import type { Identity } from '../../core/identity/identity.ts';
import type { Env } from '../../edge/env.ts';
import { httpError } from '../../edge/http-errors.ts';
import { NAME_PATTERN, RECORD_ID_PATTERN } from '../names.ts';

export type UserEnv = { Bindings: Env; Variables: { identity: Identity } };

export const me = (id: Identity): PrincipalRef => ({ issuer: id.issuer, subject: id.subject });
export const isAdmin = (env: Env, id: Identity) => !!env.ADMIN_GROUP && id.groups.includes(env.ADMIN_GROUP);
export const accessApprovers = (env: Env) => env.ACCESS_APPROVER_GROUP ?? env.ADMIN_GROUP;

export async function body<T extends z.ZodType>(
  c: Context<UserEnv>,
  schema: T,
): Promise<z.infer<T> | Response> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    raw = {};
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  return httpError(400, 'invalid_input', `${field}: ${issue.message}`, field);
}

/**
 * The `:id` of the route when it has the shape of an id this edge hands out, else null (the
 * caller answers 404: such an id names nothing, and must not reach the database as it is).
 */
export function idParam(c: Context<UserEnv>): string | null {
  const id = c.req.param('id') ?? '';
  return RECORD_ID_PATTERN.test(id) ? id : null;
}

/** `?connection=`: its value, undefined when absent, or a 400 when no connection has such a name. */
export function connectionQuery(c: Context<UserEnv>): string | undefined | Response {
  const name = c.req.query('connection');
  if (!name) return undefined;
  if (NAME_PATTERN.test(name)) return name;
  return httpError(400, 'invalid_input', 'connection: not a connection name', 'connection');
}

/** The admin API's per-request database (workers/api/app.ts), for these routes too. */
export { withDb } from './app.ts';
