/** The OpenAPIHono factory with the API's one validation-error shape (names the field). */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { AdminEnv } from '../auth/admin.ts';

export function newApi(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      return c.json(
        {
          error: {
            code: 'invalid_input',
            message: `${field || 'request'}: ${issue?.message ?? 'invalid'}`,
            field,
          },
        },
        400,
      );
    },
  });
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
