/** The OpenAPIHono factory shared by the API's route groups, plus small helpers for them. */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../auth/admin.ts';
import { ControlPlaneScope, withControlPlane, type Db, type Later } from '../../edge/db/client.ts';
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

/** Where a handler's context keeps its request's control plane (requestControlPlane). */
export type DbVariables = { controlPlane: ControlPlaneScope };

/** The ExecutionContext's waitUntil, or undefined where the runtime gave none (Node tests). */
export function laterOf(c: Context): Later | undefined {
  let ctx: ExecutionContext | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined; // hono throws when the runtime gave no ExecutionContext
  }
  return ctx ? (closing) => ctx.waitUntil(closing) : undefined;
}

/**
 * Middleware: one control-plane connection for the whole request, opened by its first use (the
 * cookie's sign-out check, then the route: withDb) and closed once the response is made, after
 * it via waitUntil. A use after that throws: a streamed body that reads the database while it
 * is sent opens its own (withOwnDb).
 */
export const requestControlPlane: MiddlewareHandler<{ Bindings: Env; Variables: DbVariables }> = async (
  c,
  next,
) => {
  const scope = new ControlPlaneScope(c.env);
  c.set('controlPlane', scope);
  try {
    await next();
  } finally {
    await scope.end(laterOf(c));
  }
};

/**
 * Runs `fn` on the request's control-plane connection (requestControlPlane); where no such
 * middleware ran, on a connection opened for `fn` alone.
 */
export function withDb<T, E extends { Bindings: Env } = AdminEnv>(
  c: Context<E>,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  const scope = (c as unknown as Context<{ Variables: Partial<DbVariables> }>).get('controlPlane');
  return scope ? scope.use(fn) : withOwnDb(c, fn);
}

/**
 * Runs `fn` on a connection of its own, closed when `fn` ends: for work that outlives the
 * response (a streamed body), which must not use the request's connection.
 */
export function withOwnDb<T, E extends { Bindings: Env } = AdminEnv>(
  c: Context<E>,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  return withControlPlane(c.env, fn, laterOf(c));
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
