import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditedSql, MAX_AUDIT_SQL_CHARS } from './statement-text.ts';

const MB = 1024 * 1024;

describe('statement text in an audit event', () => {
  it('keeps a statement up to the bound whole, with nothing added', () => {
    const sql = `SELECT '${'é'.repeat(MAX_AUDIT_SQL_CHARS - 9)}'`;
    expect(sql.length).toBe(MAX_AUDIT_SQL_CHARS);
    expect(auditedSql(sql)).toEqual({ sql });
  });

  it.each([1, 10, 50])('stores a bounded prefix of a %i MB statement, its length and its hash', (mb) => {
    const sql = `INSERT INTO blobs (b) VALUES ('${'é'.repeat(mb * MB)}')`;
    const a = auditedSql(sql);
    expect(a.sql).toBe(`${sql.slice(0, MAX_AUDIT_SQL_CHARS)}…`);
    // What the event holds does not grow with the statement.
    expect(JSON.stringify(a).length).toBeLessThan(MAX_AUDIT_SQL_CHARS + 200);
    expect(a.sqlBytes).toBe(Buffer.byteLength(sql));
    expect(a.sqlSha256).toBe(createHash('sha256').update(sql).digest('hex'));
  });
});
