import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ApprovalView } from '../../core/approvals/types.ts';
import { run } from './approvals.ts';
import { apiFailure, span, table, truncate } from './user-api.ts';

const NOW = Date.parse('2026-11-26T10:00:00Z');
const EDGE = ['--edge', 'http://edge.test', '--token', 'tok-approver'];

function approval(over: Partial<ApprovalView> = {}): ApprovalView {
  return {
    id: 'apr_01',
    kind: 'statement',
    status: 'pending',
    connection: 'demo',
    sessionId: 'ses_1',
    requester: { issuer: 'http://127.0.0.1:9400', subject: 'demo-client' },
    statement: 'CREATE INDEX ON customers (email)',
    fingerprint: 'fp',
    action: 'sql:ddl',
    resource: 'customers',
    reason: 'connection/demo/demo#3',
    policies: [],
    approverGroup: 'dba',
    minApprovals: 2,
    votes: [],
    durationSeconds: null,
    createdAt: '2026-11-26T09:59:00Z',
    expiresAt: '2026-11-26T10:14:00Z',
    decidedAt: null,
    scope: null,
    grantId: null,
    ...over,
  };
}

interface Call {
  url: URL;
  method: string;
  auth: string | null;
  body: unknown;
}

/** Runs a command against canned API answers; records what it sent. */
async function cli(
  command: (argv: string[], io: object) => Promise<number>,
  argv: string[],
  answers: Array<{ status?: number; body: unknown }> = [],
) {
  const calls: Call[] = [];
  let out = '';
  const fetch = (async (input: URL, init: RequestInit) => {
    const headers = new Headers(init.headers);
    calls.push({
      url: new URL(input),
      method: init.method ?? 'GET',
      auth: headers.get('authorization'),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('no answer left');
    return Response.json(a.body, { status: a.status ?? 200 });
  }) as unknown as typeof globalThis.fetch;
  const code = await command(argv, { fetch, env: {}, now: () => NOW, write: (t: string) => (out += t) });
  return { code, out, calls };
}

const approvals = (argv: string[], answers?: Array<{ status?: number; body: unknown }>) =>
  cli(run, [...argv, ...EDGE], answers);

describe('postern approvals list', () => {
  it('asks for pending requests by default, with the caller token, and prints a table', async () => {
    const votes = [
      { approver: { issuer: 'i', subject: 'ann' }, decision: 'approve' as const, reason: null, at: 'x' },
    ];
    const long = `CREATE TABLE audit_archive AS SELECT * FROM customers WHERE created_at < now()`;
    const r = await approvals(
      ['list', '--connection', 'demo', '--kind', 'statement', '--limit', '5'],
      [{ body: { approvals: [approval({ votes, statement: long })] } }],
    );
    expect(r.code).toBe(0);
    expect(r.calls[0]!.auth).toBe('Bearer tok-approver');
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/approvals');
    expect(Object.fromEntries(r.calls[0]!.url.searchParams)).toEqual({
      status: 'pending',
      connection: 'demo',
      kind: 'statement',
      limit: '5',
    });
    const [head, row] = r.out.trimEnd().split('\n');
    expect(head).toMatch(/^ID\s+KIND\s+STATUS\s+CONNECTION\s+REQUESTER\s+WHAT\s+APPROVALS\s+EXPIRES IN$/);
    expect(row).toMatch(/^apr_01\s+statement\s+pending\s+demo\s+demo-client\s+\[sql:ddl\] CREATE TABLE/);
    expect(row).toContain('…');
    expect(row).toMatch(/1\/2\s+14m$/);
  });

  it('--status all sends no status filter; an empty page says so', async () => {
    const r = await approvals(['list', '--status', 'all'], [{ body: { approvals: [] } }]);
    expect(r.calls[0]!.url.search).toBe('');
    expect(r.out).toBe('no requests\n');
  });

  it('shows access requests with their duration', async () => {
    const access = approval({ kind: 'access', statement: null, action: 'connect', durationSeconds: 1800 });
    const r = await approvals(['list'], [{ body: { approvals: [access] } }]);
    expect(r.out).toContain('connect for 30m');
  });

  it('--json prints the API answer as is', async () => {
    const page = { approvals: [approval()] };
    const r = await approvals(['list', '--json'], [{ body: page }]);
    expect(JSON.parse(r.out)).toEqual(page);
  });

  it('rejects bad flags before calling the edge', async () => {
    await expect(approvals(['list', '--status', 'open'])).rejects.toMatchObject({
      code: 'usage',
      message: '--status must be one of pending, approved, denied, expired, cancelled, all (got "open")',
    });
    await expect(approvals(['list', '--kind', 'ddl'])).rejects.toMatchObject({ code: 'usage' });
    await expect(approvals(['list', '--limit', '0'])).rejects.toThrow('--limit must be a whole number');
    await expect(approvals(['list', '--scope', 'once'])).rejects.toMatchObject({
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
  });
});

describe('postern approvals show', () => {
  it('prints the request, its votes and how to approve it', async () => {
    const r = await approvals(['show', 'apr_01'], [{ body: approval() }]);
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/approvals/apr_01');
    expect(r.out).toContain('status      pending (expires in 14m)');
    expect(r.out).toContain('statement   CREATE INDEX ON customers (email)');
    expect(r.out).toContain('approvers   group "dba", 0/2 approvals');
    expect(r.out).toContain('approve: postern approvals approve apr_01');
  });

  it('needs one well-formed id', async () => {
    await expect(approvals(['show'])).rejects.toThrow('show needs a request id');
    await expect(approvals(['show', '../x'])).rejects.toThrow('"../x" is not a request id');
  });
});

describe('postern approvals approve and deny', () => {
  it('sends the scope and hours and prints the resulting status', async () => {
    const done = approval({ status: 'approved', scope: 'shape', minApprovals: 1, votes: [] });
    const r = await approvals(['approve', 'apr_01', '--scope', 'shape', '--hours', '4'], [{ body: done }]);
    expect(r.calls[0]).toMatchObject({ method: 'POST', body: { scope: 'shape', hours: 4 } });
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/approvals/apr_01/approve');
    expect(r.out).toBe('apr_01: approved (scope shape, 0/1 approvals); the held statement runs now\n');
  });

  it('says when more approvals are needed', async () => {
    const votes = [
      { approver: { issuer: 'i', subject: 'me' }, decision: 'approve' as const, reason: null, at: 'x' },
    ];
    const r = await approvals(['approve', 'apr_01'], [{ body: approval({ votes }) }]);
    expect(r.calls[0]!.body).toEqual({});
    expect(r.out).toBe('apr_01: vote recorded, still pending (1/2 approvals, expires in 14m)\n');
  });

  it('checks scope and hours locally', async () => {
    await expect(approvals(['approve', 'apr_01', '--scope', 'forever'])).rejects.toMatchObject({
      code: 'usage',
    });
    await expect(approvals(['approve', 'apr_01', '--hours', '2'])).rejects.toThrow(
      '--hours goes with --scope shape',
    );
    await expect(approvals(['approve', 'apr_01', '--scope', 'shape', '--hours', '200'])).rejects.toThrow(
      'from 1 to 168',
    );
  });

  it('deny needs a reason and prints it back', async () => {
    await expect(approvals(['deny', 'apr_01'])).rejects.toThrow('deny needs --reason');
    const votes = [
      { approver: { issuer: 'i', subject: 'me' }, decision: 'deny' as const, reason: 'no', at: 'x' },
    ];
    const r = await approvals(
      ['deny', 'apr_01', '--reason', 'no'],
      [{ body: approval({ status: 'denied', votes }) }],
    );
    expect(r.calls[0]).toMatchObject({ method: 'POST', body: { reason: 'no' } });
    expect(r.out).toBe('apr_01: denied (no)\n');
  });
});

describe('API errors', () => {
  const err = (code: string, message = 'x') => ({ error: { code, message } });

  it('maps each documented error to what to do', async () => {
    const cases: Array<[number, unknown, string, string]> = [
      [401, err('unauthorized'), 'unauthorized', 'token rejected: '],
      [403, err('self_approval'), 'self_approval', 'you cannot approve your own request'],
      [
        403,
        {
          error: { code: 'not_an_approver', message: 'only members of group "dba" may decide this request' },
        },
        'not_an_approver',
        'your token lacks group "dba"',
      ],
      [409, err('not_pending'), 'not_pending', 'request apr_01 is not pending any more'],
      [
        409,
        err('expired', 'the request has timed out'),
        'expired',
        'not pending any more: the request has timed out',
      ],
      [409, err('already_voted'), 'already_voted', 'you already voted on request apr_01'],
      [404, err('not_found', 'no such request'), 'not_found', 'request apr_01 not found: no such request'],
      [500, null, 'api_error', 'API HTTP 500: error'],
    ];
    for (const [status, body, code, message] of cases) {
      const e = apiFailure(status, body, 'request apr_01');
      expect(e.code).toBe(code);
      expect(e.message).toContain(message);
    }
  });

  it('looks up the approver group when the error does not name it', async () => {
    const answers = [{ status: 403, body: err('not_an_approver', 'not an approver') }, { body: approval() }];
    await expect(approvals(['approve', 'apr_01'], answers)).rejects.toMatchObject({
      code: 'not_an_approver',
      message: 'your token lacks group "dba", which approves request apr_01',
    });
  });

  it('names the edge it could not reach', async () => {
    const fetch = (async () => {
      throw new Error('ECONNREFUSED');
    }) as unknown as typeof globalThis.fetch;
    await expect(run(['list', ...EDGE], { fetch, env: {}, write: () => {} })).rejects.toMatchObject({
      code: 'edge_unreachable',
      message: expect.stringContaining('cannot reach the edge at http://edge.test'),
    });
  });

  it('needs an edge and a token', async () => {
    await expect(run(['list', '--token', 't'], { env: {}, write: () => {} })).rejects.toThrow('no edge');
    await expect(run(['list', '--edge', 'http://e'], { env: {}, write: () => {} })).rejects.toThrow(
      'no token',
    );
  });
});

describe('help and formatting', () => {
  it('prints help for the command and each subcommand; no subcommand is a usage error', async () => {
    let out = '';
    const write = (t: string) => (out += t);
    expect(await run(['--help'], { write })).toBe(0);
    expect(out).toContain('Usage: postern approvals');
    expect(await run([], { write })).toBe(2);
    out = '';
    expect(await run(['approve', '-h'], { write })).toBe(0);
    expect(out).toContain('Usage: postern approvals approve <id>');
    expect(out).toContain('--client-secret');
    await expect(run(['aprove'], { write })).rejects.toThrow('unknown subcommand "aprove"');
  });

  it('formats spans, truncation and tables', () => {
    expect([45e3, 14 * 60e3, 3 * 3600e3 + 5 * 60e3, 50 * 3600e3, -1].map(span)).toEqual([
      '45s',
      '14m',
      '3h05m',
      '2d2h',
      '0s',
    ]);
    expect(truncate('a\n  b   c', 10)).toBe('a b c');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(table(['A', 'BB'], [['xyz', '1']])).toBe('A    BB\nxyz  1\n');
  });
});

describe('the postern binary', () => {
  const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'bin', 'postern.mjs');
  const bin = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('answers --help for approvals and access, and exits 2 on a usage error', () => {
    for (const cmd of ['approvals', 'access']) {
      const r = bin(cmd, '--help');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Usage: postern ${cmd}`);
    }
    const bad = bin('access', 'request', 'demo', '--for', '1w', '--reason', 'r', '--json');
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stderr.trim()).error.message).toContain('e.g. 30s, 15m, 2h or 1d');
  }, 60_000);
});
