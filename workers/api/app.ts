/** The OpenAPIHono factory shared by the API's route groups, plus small helpers for them. */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AdminEnv } from '../auth/admin.ts';
import { withControlPlane, type Db } from '../../edge/db/client.ts';
import type { Env } from '../../edge/env.ts';
import type { ZodError } from 'zod';
import { httpError } from '../../edge/http-errors.ts';

/** A route group whose failed validations all answer the same 400 shape. */
export function newApi(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });
}

/**
 * OpenAPIHono `defaultHook`: a failed request validation becomes 400 naming the first offending
 * field as a dotted path (`target.port`). zod messages describe the rule, not the value, so no
 * submitted secret is echoed.
 */
export function validationHook(
  result: { target: string } & ({ success: true } | { success: false; error: ZodError }),
  _c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  // An unknown key is reported at its parent object; name the key itself.
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const field = path.join('.') || (result.target === 'json' ? 'body' : result.target);
  return httpError(400, 'invalid_input', `${field}: ${issue?.message ?? 'invalid'}`, field);
}

/** `{ content: { 'application/json': { schema } }, description }` for route definitions. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/**
 * Runs `fn` with a database opened for this request only (edge/db/client.ts); the pool is
 * closed after the response via waitUntil where there is an ExecutionContext, inline otherwise.
 */
export function withDb<T, E extends { Bindings: Env } = AdminEnv>(
  c: Context<E>,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  let ctx: ExecutionContext | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined; // hono throws when the runtime gave no ExecutionContext
  }
  return withControlPlane(c.env, fn, ctx ? (closing) => ctx.waitUntil(closing) : undefined);
}

/** One structured line per change made through the API: who, what, which object. */
export function logAdminAction(c: Context<AdminEnv>, action: string, target: string): void {
  const admin = c.get('admin');
  const who =
    admin?.kind === 'oidc'
      ? { issuer: admin.identity.issuer, subject: admin.identity.subject }
      : { kind: 'bootstrap' };
  console.log(JSON.stringify({ msg: 'admin action', action, target, admin: who }));
}
