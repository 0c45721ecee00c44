// What a request with the console cookie costs before and after it shares one control-plane
// connection between its sign-out check and its route (issue 14, s17-onedb): GET /api/v1/sessions
// with an admin's cookie through the real hono app, over a real Postgres behind the Neon relay.
// CPU per request of this process (process.cpuUsage: the app, the driver and the relay) and of
// Postgres (the postmaster's reaped children, /proc/<pid>/stat cutime+cstime: one backend per
// connection), side by side in one run, alternating. BASE is a checkout of the code before
// (e.g. `git archive 55f3082` with node_modules linked to this one, so both share the driver).
// Run: BASE=/tmp/base node --import tsx scripts/cookie-request-cost.ts
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { register } from 'node:module';
import type { Hono } from 'hono';
import { deriveWebSessionKeys } from '../core/web-session/keys.ts';
import { sealSession } from '../core/web-session/seal.ts';
import type { Env } from '../edge/env.ts';
import { startControlPlaneDb } from '../test/control-plane/control-plane-db.ts';

// The edge imports its WASM as modules (workerd); in Node the tests' stand-ins load them
// (vitest.config.ts aliases the same two specifiers).
const standIns = {
  '@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm': new URL(
    '../test/support/cedar-wasm.node.ts',
    import.meta.url,
  ).href,
  'libpg-query/wasm/libpg-query.wasm': new URL('../test/support/pg-query-wasm.node.ts', import.meta.url).href,
};
register(
  'data:text/javascript,' +
    encodeURIComponent(
      `const m = ${JSON.stringify(standIns)};
       export async function resolve(s, c, next) { return next(m[s] ?? s, c); }`,
    ),
);
type App = { createEdgeApp: () => Hono<{ Bindings: Env }> };
const { createEdgeApp } = (await import('../workers/app.ts')) as App;

const BASE = process.env['BASE'];
if (!BASE) throw new Error('BASE=<checkout of the code before> is required');
const N = Number(process.env['N'] ?? 20);
const ROUNDS = Number(process.env['ROUNDS'] ?? 4);
const KEYS = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`;
const ISSUER = 'https://idp.example';

const cp = await startControlPlaneDb();
try {
  const env = {
    TRUSTED_ISSUERS: JSON.stringify([
      { issuer: ISSUER, audience: 'urn:postern', console: { clientId: 'pc' } },
    ]),
    CREDENTIAL_KEYS: KEYS,
    ADMIN_GROUP: 'postern-admins',
    DATABASE_URL: cp.DATABASE_URL,
    NEON_WS_PROXY: cp.NEON_WS_PROXY,
  } as unknown as Env;
  const dataDir = (await cp.sql<{ data_directory: string }>('SHOW data_directory'))[0]!.data_directory;
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const ticks = () => {
    const f = readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[13]) + Number(f[14]); // cutime + cstime (fields 16, 17), in clock ticks (100/s)
  };
  const keys = await deriveWebSessionKeys(undefined, KEYS);
  const now = Math.floor(Date.now() / 1000);
  const cookie = `postern_session=${await sealSession(keys.seal, {
    issuer: ISSUER,
    subject: 'alice',
    groups: ['postern-admins'],
    attributes: {},
    sid: 'sid-cost',
    issuedAt: now,
    expiresAt: now + 3600,
  })}`;
  const before = (await import(join(BASE, 'workers/app.ts'))) as {
    createEdgeApp: () => Hono<{ Bindings: Env }>;
  };
  const apps = { before: before.createEdgeApp(), after: createEdgeApp() };
  const total = { before: { cpu: 0, pg: 0, wall: 0, n: 0 }, after: { cpu: 0, pg: 0, wall: 0, n: 0 } };
  const run = async (which: 'before' | 'after', n: number) => {
    const cpu = process.cpuUsage();
    const pg = ticks();
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await apps[which].request(
        'http://127.0.0.1:8787/api/v1/sessions',
        { headers: { Cookie: cookie } },
        env,
      );
      if (res.status !== 200) throw new Error(`${which}: ${res.status} ${await res.text()}`);
    }
    const used = process.cpuUsage(cpu);
    return { cpu: (used.user + used.system) / 1000, pg: (ticks() - pg) * 10, wall: performance.now() - t };
  };
  await run('before', 3);
  await run('after', 3);
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<'before' | 'after'> = r % 2 ? ['after', 'before'] : ['before', 'after'];
    for (const which of order) {
      const m = await run(which, N);
      total[which].cpu += m.cpu;
      total[which].pg += m.pg;
      total[which].wall += m.wall;
      total[which].n += N;
    }
  }
  const per = (w: 'before' | 'after') => ({
    nodeCpuMs: +(total[w].cpu / total[w].n).toFixed(1),
    postgresCpuMs: +(total[w].pg / total[w].n).toFixed(1),
    wallMs: +(total[w].wall / total[w].n).toFixed(1),
  });
  const b = per('before');
  const a = per('after');
  console.log(
    JSON.stringify({
      request: 'GET /api/v1/sessions with an admin cookie',
      requests: total.after.n,
      before: b,
      after: a,
      ratio: {
        nodeCpu: +(a.nodeCpuMs / b.nodeCpuMs).toFixed(2),
        postgresCpu: +(a.postgresCpuMs / b.postgresCpuMs).toFixed(2),
        wall: +(a.wallMs / b.wallMs).toFixed(2),
      },
      loadavg: loadavg().map((l) => +l.toFixed(2)),
    }),
  );
} finally {
  await cp.stop();
}
