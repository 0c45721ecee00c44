import { describe, expect, it } from 'vitest';
import { run, shapeTable, type ShapeView } from './shapes.ts';

const NOW = Date.parse('2026-11-26T10:00:00Z');
const EDGE = ['--edge', 'http://edge.test', '--token', 'tok-approver'];

/** Runs `postern shapes` against canned API answers; records what it sent. */
async function cli(argv: string[], answers: Array<{ status?: number; body: unknown }> = []) {
  const calls: Array<{ url: URL; method: string; body: unknown }> = [];
  let out = '';
  const fetch = (async (input: URL, init: RequestInit) => {
    calls.push({
      url: new URL(input),
      method: init.method ?? 'GET',
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('no answer left');
    return Response.json(a.body, { status: a.status ?? 200 });
  }) as unknown as typeof globalThis.fetch;
  const code = await run([...argv, ...EDGE], { fetch, env: {}, now: () => NOW, write: (t) => (out += t) });
  return { code, out, calls };
}

const shape = (over: Partial<ShapeView> = {}): ShapeView => ({
  id: 'shp_01',
  connection: 'demo',
  requester: { issuer: 'http://idp', subject: 'ci-bot' },
  fingerprint: '5f0c',
  statement: 'ALTER TABLE t ALTER COLUMN id SET DEFAULT 1;',
  approverGroup: 'dba',
  approvals: 1,
  requestId: 'apr_01',
  createdAt: '2026-11-26T09:00:00Z',
  expiresAt: '2026-11-26T12:00:00Z',
  revokedAt: null,
  ...over,
});

describe('postern shapes', () => {
  it('lists standing shape approvals of a connection as a table, or JSON', async () => {
    const r = await cli(['list', '--connection', 'demo'], [{ body: { shapes: [shape()] } }]);
    expect(r.code).toBe(0);
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/shape-approvals');
    expect(r.calls[0]!.url.searchParams.get('connection')).toBe('demo');
    expect(r.out).toContain('shp_01');
    expect(r.out).toContain('2h00m');
    const j = await cli(['list', '--json'], [{ body: { shapes: [] } }]);
    expect(JSON.parse(j.out)).toEqual({ shapes: [] });
  });

  it('revokes one with a reason and says what it means', async () => {
    const r = await cli(
      ['revoke', 'shp_01', '--reason', 'done'],
      [{ body: shape({ revokedAt: '2026-11-26T10:00:00Z' }) }],
    );
    expect(r.calls[0]).toMatchObject({ method: 'POST', body: { reason: 'done' } });
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/shape-approvals/shp_01/revoke');
    expect(r.out).toMatch(/revoked; statements of that shape by ci-bot wait for approval again/);
  });

  it('refuses bad usage before asking for a token', async () => {
    await expect(cli(['revoke'])).rejects.toThrow(/needs a shape approval id/);
    await expect(cli(['revoke', 'bad id!'])).rejects.toThrow(/not a shape approval id/);
    await expect(cli(['list', 'extra'])).rejects.toThrow(/takes no argument/);
    await expect(cli(['frobnicate'])).rejects.toThrow(/use list or revoke/);
  });

  it('falls back to the fingerprint when no statement was kept', () => {
    expect(shapeTable([shape({ statement: null })], NOW)).toContain('5f0c');
  });
});
