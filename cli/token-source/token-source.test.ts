import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachingSource, resolveTokenSource } from './index.ts';

let server: Server;
let base: string;
let issued = 0;
const seen: Array<{ auth?: string; body: string; url?: string }> = [];

function jwt(expInSeconds: number): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256' })}.${b({ exp: Math.floor(Date.now() / 1000) + expInSeconds, n: ++issued })}.sig`;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, body, url: req.url });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration')
        return res.end(JSON.stringify({ token_endpoint: `${base}/token` }));
      if (req.url === '/token') {
        if (req.headers.authorization !== `Basic ${Buffer.from('id:secret').toString('base64')}`)
          return res.writeHead(401).end('{}');
        return res.end(JSON.stringify({ access_token: jwt(3600) }));
      }
      if (req.url?.startsWith('/gh')) return res.end(JSON.stringify({ value: jwt(300) }));
      res.writeHead(404).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('token sources', () => {
  it('prefers --token over the environment, then the file, then client credentials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(dir, 't'), 'from-file\n');
    const env = {
      POSTERN_TOKEN: 'from-env',
      POSTERN_ISSUER: base,
      POSTERN_CLIENT_ID: 'id',
      POSTERN_CLIENT_SECRET: 'secret',
    };
    expect(await resolveTokenSource({ token: 'from-flag' }, env).get()).toBe('from-flag');
    expect(await resolveTokenSource({}, env).get()).toBe('from-env');
    expect(await resolveTokenSource({ tokenFile: join(dir, 't') }, {}).get()).toBe('from-file');
    const cc = resolveTokenSource(
      {},
      {
        POSTERN_ISSUER: base,
        POSTERN_CLIENT_ID: 'id',
        POSTERN_CLIENT_SECRET: 'secret',
        POSTERN_AUDIENCE: 'urn:postern',
      },
    );
    expect((await cc.get()).split('.')).toHaveLength(3);
    expect(seen.find((s) => s.url === '/token')?.body).toContain('resource=urn%3Apostern');
  });

  it('says what to fix when the client secret is wrong, without printing it', async () => {
    const src = resolveTokenSource({ issuer: base, clientId: 'id', clientSecret: 'wrong-secret' }, {});
    await expect(src.get()).rejects.toThrow(/HTTP 401 — check --client-id\/--client-secret/);
    await expect(src.get()).rejects.not.toThrow(/wrong-secret/);
  });

  it('uses the GitHub Actions OIDC environment with the audience', async () => {
    const src = resolveTokenSource(
      {},
      {
        ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/gh?x=1`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req',
        POSTERN_AUDIENCE: 'urn:postern',
      },
    );
    expect((await src.get()).split('.')).toHaveLength(3);
    const req = seen.filter((s) => s.url?.startsWith('/gh')).pop()!;
    expect(req.auth).toBe('Bearer req');
    expect(req.url).toContain('audience=urn%3Apostern');
  });

  it('asks for a token source when none is configured', () => {
    expect(() => resolveTokenSource({}, {})).toThrow(/no token/);
    expect(() => resolveTokenSource({ issuer: base }, {})).toThrow(
      /all of --issuer, --client-id and --client-secret/,
    );
  });

  it('caches a token and refreshes it before it expires', async () => {
    let now = 1_000_000_000_000;
    let calls = 0;
    const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const src = cachingSource(
      async () => `${b({})}.${b({ exp: Math.floor(now / 1000) + 600, c: ++calls })}.s`,
      'test',
      () => now,
    );
    const first = await src.get();
    expect(await src.get()).toBe(first);
    now += 500_000; // 100 s of the 600 s lifetime left: under 20%, refresh
    expect(await src.get()).not.toBe(first);
    expect(calls).toBe(2);
  });
});
