/** The Postgres scanner inside workerd (the same WASM module the SessionDO uses). */
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../core/audit/redact-secrets.ts';
import { sqlParser } from '../../edge/policy/runtime.ts';

describe('SQL scanner in workerd', () => {
  it('reads tokens as the server does and redacts secrets with them', async () => {
    const parser = await sqlParser();
    expect(parser.scan("select 'é' /* c */")?.map((t) => [t.start, t.end, t.name])).toEqual([
      [0, 6, 'UNKNOWN'],
      [7, 11, 'SCONST'],
      [12, 19, 'C_COMMENT'],
    ]);
    expect(parser.scan("select 'open")).toBeUndefined();
    expect(redactSecrets("ALTER ROLE bob PASSWORD U&'s3!0063ret' UESCAPE '!'", parser)).toBe(
      "ALTER ROLE bob PASSWORD '[REDACTED]' UESCAPE '!'",
    );
  });
});
