/** The OpenAPIHono factory shared by the API's route groups, plus small helpers for them. */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AdminEnv } from '../auth/admin.ts';
import { openDb, type Db } from '../db/client.ts';
import type { Env } from '../env.ts';
import { validationHook } from './errors.ts';

/** A route group whose failed validations all answer the same 400 shape. */
export function newApi(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({ defaultHook: validationHook });
}

/** `{ content: { 'application/json': { schema } }, description }` for route definitions. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/**
 * Runs `fn` with a database opened for this request only: in Workers a Pool's socket must not
 * outlive the request that opened it. Closing happens after the response via waitUntil where
 * there is an ExecutionContext, inline otherwise.
 */
export async function withDb<T, E extends { Bindings: Env } = AdminEnv>(
  c: Context<E>,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  const handle = openDb(c.env);
  try {
    return await fn(handle.db);
  } finally {
    const closing = handle
      .close()
      .catch((e: unknown) =>
        console.warn(
          JSON.stringify({ msg: 'control-plane pool close failed', error: (e as Error)?.message }),
        ),
      );
    let ctx: ExecutionContext | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      ctx = undefined; // hono throws when the runtime gave no ExecutionContext
    }
    if (ctx) ctx.waitUntil(closing);
    else await closing;
  }
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
