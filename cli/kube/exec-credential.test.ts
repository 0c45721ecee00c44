import { describe, expect, it } from 'vitest';
import { checkExecInfo, execCredential, rfc3339 } from './exec-credential.ts';

const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const NOW = Date.UTC(2026, 11, 4, 0, 0, 0);

describe('execCredential', () => {
  it('is a v1 ExecCredential with the token and the JWT exp as RFC 3339', () => {
    const exp = NOW / 1000 + 3600;
    const token = jwt({ sub: 'alice', exp });
    expect(execCredential(token, NOW)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token, expirationTimestamp: '2026-12-04T01:00:00Z' },
    });
    expect(rfc3339(exp + 0.5)).toBe('2026-12-04T01:00:00Z');
  });

  it('a token without exp has no expirationTimestamp', () => {
    expect(execCredential('opaque-token', NOW).status).toEqual({ token: 'opaque-token' });
  });

  it('refuses an expired token and an empty or whitespace one, naming no token', () => {
    const token = jwt({ exp: NOW / 1000 - 1 });
    expect(() => execCredential(token, NOW)).toThrowError(/expired at 2026-12-03T23:59:59Z/);
    try {
      execCredential(token, NOW);
    } catch (e) {
      expect((e as Error).message).not.toContain(token.split('.')[1]);
    }
    for (const bad of ['', 'a b', 'a\nb']) expect(() => execCredential(bad, NOW)).toThrow(/empty or holds/);
  });
});

describe('checkExecInfo (KUBERNETES_EXEC_INFO)', () => {
  it('accepts v1 with unknown fields, and no value', () => {
    checkExecInfo(undefined);
    checkExecInfo('');
    checkExecInfo(
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        spec: { interactive: false, somethingNew: 1 },
      }),
    );
  });

  it('refuses another apiVersion, non-JSON and an oversized value', () => {
    expect(() =>
      checkExecInfo(
        JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential' }),
      ),
    ).toThrow(/v1beta1.*re-run `postern kube-config`/);
    expect(() => checkExecInfo('{')).toThrow(/not JSON/);
    expect(() => checkExecInfo('null')).toThrow(/undefined/);
    expect(() => checkExecInfo(' '.repeat(70_000))).toThrow(/over/);
  });
});
