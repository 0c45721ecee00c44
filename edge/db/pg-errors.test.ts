import { describe, expect, it } from 'vitest';
import { PosternError } from '../../core/errors.ts';
import { isUnavailable, loggable } from './pg-errors.ts';

/** A driver error as drizzle wraps it: the driver's error (with its SQLSTATE, if any) in `cause`. */
function wrapped(cause: Error): Error {
  return Object.assign(new Error('Failed query: select ...'), { cause });
}

describe('isUnavailable', () => {
  it('is true when the database could not be reached or used at all', () => {
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(wrapped(new Error('connect ECONNREFUSED 127.0.0.1:5432')))).toBe(true);
    for (const code of ['08006', '08001', '57P01', '57P03', '53300']) {
      expect(isUnavailable(wrapped(Object.assign(new Error('x'), { code })))).toBe(true);
    }
  });

  it('is false for a statement that failed, our own bugs and our own errors', () => {
    for (const code of ['23505', '23503', '42601', '42P01', '22P02']) {
      expect(isUnavailable(wrapped(Object.assign(new Error('x'), { code })))).toBe(false);
    }
    expect(isUnavailable(new TypeError("cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isUnavailable(wrapped(new RangeError('bad')))).toBe(false);
    expect(isUnavailable(new PosternError('NOT_FOUND', 'no such connection'))).toBe(false);
    expect(isUnavailable('a string')).toBe(false);
  });
});

describe('loggable', () => {
  it("never logs a failed query's statement or parameters (a token hash, a ciphertext)", () => {
    const e = new Error(
      'Failed query: select * from connector_tokens where hash = $1\nparams: 9f86d081884c7d65',
    );
    const logged = JSON.stringify(loggable(e));
    expect(logged).not.toContain('9f86d081884c7d65');
    expect(logged).not.toContain('connector_tokens');
    expect(logged).toContain('Failed query');
    expect(JSON.stringify(loggable(wrapped(new Error('connect ECONNREFUSED 127.0.0.1:5432'))))).toContain(
      'ECONNREFUSED',
    );
  });
});
