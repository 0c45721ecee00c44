import { describe, expect, it } from 'vitest';
import type { ApprovalView, GrantView } from '../../core/approvals/types.ts';
import { parseDuration, run } from './access.ts';

const NOW = Date.parse('2026-11-26T10:00:00Z');

/** Runs `postern access` against canned API answers; records what it sent. */
async function cli(argv: string[], answers: Array<{ status?: number; body: unknown }> = []) {
  const calls: Array<{ url: URL; method: string; auth: string | null; body: unknown }> = [];
  let out = '';
  const fetch = (async (input: URL, init: RequestInit) => {
    calls.push({
      url: new URL(input),
      method: init.method ?? 'GET',
      auth: new Headers(init.headers).get('authorization'),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('no answer left');
    return Response.json(a.body, { status: a.status ?? 200 });
  }) as unknown as typeof globalThis.fetch;
  const code = await run(argv, { fetch, env: {}, now: () => NOW, write: (t) => (out += t) });
  return { code, out, calls };
}

function approval(over: Partial<ApprovalView> = {}): ApprovalView {
  return {
    id: 'apr_02',
    kind: 'access',
    status: 'pending',
    connection: 'demo',
    sessionId: null,
    requester: { issuer: 'http://127.0.0.1:9400', subject: 'demo-client' },
    statement: null,
    fingerprint: null,
    action: 'connect',
    resource: 'demo',
    reason: 'r',
    policies: [],
    approverGroup: 'postern-admins',
    minApprovals: 1,
    votes: [],
    durationSeconds: 1800,
    createdAt: '2026-11-26T09:59:00Z',
    expiresAt: '2026-11-26T10:14:00Z',
    decidedAt: null,
    scope: null,
    grantId: null,
    ...over,
  };
}

const EDGE = ['--edge', 'http://edge.test', '--token', 'tok-requester'];
const access = (argv: string[], answers?: Array<{ status?: number; body: unknown }>) =>
  cli([...argv, ...EDGE], answers);

function grant(over: Partial<GrantView> = {}): GrantView {
  return {
    id: 'grt_01',
    connection: 'demo',
    principal: { issuer: 'http://127.0.0.1:9400', subject: 'demo-client' },
    action: 'connect',
    reason: 'INC-1234: check the billing rows',
    requestId: 'apr_02',
    approvedBy: [{ issuer: 'http://127.0.0.1:9400', subject: 'demo-approver' }],
    createdAt: '2026-11-26T09:50:00Z',
    expiresAt: '2026-11-26T10:20:00Z',
    revokedAt: null,
    revokedBy: null,
    active: true,
    ...over,
  };
}

describe('postern access request', () => {
  it('posts the connection, duration, reason and action, and says who must approve', async () => {
    const r = await access(
      ['request', 'demo', '--for', '2h', '--action', 'sql:ddl', '--reason', 'add an index'],
      [{ status: 201, body: approval({ action: 'sql:ddl', durationSeconds: 7200 }) }],
    );
    expect(r.code).toBe(0);
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/access-requests');
    expect(r.calls[0]).toMatchObject({
      method: 'POST',
      auth: 'Bearer tok-requester',
      body: { connection: 'demo', duration: '2h', reason: 'add an index', action: 'sql:ddl' },
    });
    expect(r.out).toContain('apr_02: pending: sql:ddl on demo for 2h');
    expect(r.out).toContain('group "postern-admins"');
    expect(r.out).toContain('postern approvals approve apr_02');
  });

  it('leaves the action out unless given (the edge defaults to connect)', async () => {
    const r = await access(['request', 'demo', '--for', '30m', '--reason', 'r'], [{ body: approval() }]);
    expect(r.calls[0]!.body).toEqual({ connection: 'demo', duration: '30m', reason: 'r' });
  });

  it('validates the duration, reason and action locally', async () => {
    for (const bad of ['30', '1w', '0m', '1.5h', ' 30m', '30M']) {
      await expect(access(['request', 'demo', '--for', bad, '--reason', 'r'])).rejects.toMatchObject({
        code: 'usage',
        message: `--for "${bad}": use a number and a unit, e.g. 30s, 15m, 2h or 1d`,
      });
    }
    await expect(access(['request', 'demo', '--for', '8d', '--reason', 'r'])).rejects.toThrow('at most 7d');
    await expect(access(['request', 'demo', '--reason', 'r'])).rejects.toThrow('request needs --for');
    await expect(access(['request', 'demo', '--for', '1h'])).rejects.toThrow('request needs --reason');
    await expect(access(['request', '--for', '1h', '--reason', 'r'])).rejects.toThrow(
      'needs a connection name',
    );
    await expect(
      access(['request', 'demo', '--for', '1h', '--reason', 'r', '--action', 'DROP']),
    ).rejects.toThrow('--action "DROP"');
  });

  it('parses 30s, 15m, 2h and 1d to seconds', () => {
    expect(['30s', '15m', '2h', '1d'].map((d) => parseDuration('--for', d))).toEqual([30, 900, 7200, 86400]);
  });
});

describe('postern access list', () => {
  it('asks for active grants unless --all, and prints a table', async () => {
    const r = await access(['list', '--connection', 'demo'], [{ body: { grants: [grant()] } }]);
    expect(Object.fromEntries(r.calls[0]!.url.searchParams)).toEqual({ connection: 'demo' });
    const [head, row] = r.out.trimEnd().split('\n');
    expect(head).toMatch(/^ID\s+CONNECTION\s+PRINCIPAL\s+ACTION\s+STATE\s+EXPIRES IN\s+REASON$/);
    expect(row).toMatch(/^grt_01\s+demo\s+demo-client\s+connect\s+active\s+20m\s+INC-1234/);
  });

  it('--all shows revoked and expired grants', async () => {
    const grants = [
      grant({ active: false, revokedAt: '2026-11-26T09:55:00Z' }),
      grant({ id: 'grt_02', active: false }),
    ];
    const r = await access(['list', '--all'], [{ body: { grants } }]);
    expect(r.calls[0]!.url.search).toBe('?active=false');
    expect(r.out).toMatch(/grt_01.*revoked\s+-/);
    expect(r.out).toMatch(/grt_02.*expired\s+-/);
  });

  it('says when there is nothing', async () => {
    const r = await access(['list'], [{ body: { grants: [] } }]);
    expect(r.out).toBe('no active grants (--all shows expired and revoked ones)\n');
  });
});

describe('postern access revoke', () => {
  it('posts the reason and prints the grant state', async () => {
    const revoked = grant({ active: false, revokedAt: '2026-11-26T10:00:00Z' });
    const r = await access(['revoke', 'grt_01', '--reason', 'done'], [{ body: revoked }]);
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/access-grants/grt_01/revoke');
    expect(r.calls[0]).toMatchObject({ method: 'POST', body: { reason: 'done' } });
    expect(r.out).toBe('grt_01: revoked (connect on demo for demo-client)\n');
  });

  it('names the grant that was not found', async () => {
    const answers = [{ status: 404, body: { error: { code: 'not_found', message: 'no such grant' } } }];
    await expect(access(['revoke', 'grt_09'], answers)).rejects.toMatchObject({
      code: 'not_found',
      message: 'grant grt_09 not found: no such grant',
    });
  });

  it('prints help per subcommand', async () => {
    let out = '';
    expect(await run(['revoke', '--help'], { write: (t) => (out += t) })).toBe(0);
    expect(out).toContain('Usage: postern access revoke <grant-id>');
  });
});
