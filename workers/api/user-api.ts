/**
 * Shared by the routes that authenticate the caller's own OIDC token (approvals, access
 * requests and grants): the identity variable, body validation and the per-request database.
 */
import type { Context } from 'hono';
import { z } from '@hono/zod-openapi';
import type { PrincipalRef } from '../../core/approvals/types.ts';
import type { Identity } from '../../core/identity/identity.ts';
import type { Env } from '../env.ts';
import { apiError } from './errors.ts';

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
  return apiError(400, 'invalid_input', `${field}: ${issue.message}`, field);
}

/** The admin API's per-request database (workers/api/app.ts), for these routes too. */
export { withDb } from './app.ts';

/** Approval refusals carry their own codes (docs/approvals.md), so scripts can tell them apart. */
export function refusal(
  status: 403 | 409,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): Response {
  return Response.json({ error: { code, message, ...extra } }, { status });
}
