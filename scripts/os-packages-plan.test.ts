import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEEDS, pgMajor, pgServerBinary, planOsPackages, type Facts } from './os-packages-plan.ts';

const ALL = new Set(NEEDS.map((n) => n.what));
const facts = (over: Partial<Facts> = {}): Facts => ({
  met: ALL,
  pgDumpMajor: 15,
  root: true,
  aptGet: true,
  ...over,
});
const without = (...whats: string[]) => new Set([...ALL].filter((w) => !whats.includes(w)));

describe('planOsPackages', () => {
  it('does nothing when every need is met', () => {
    expect(planOsPackages(facts())).toEqual({ action: 'none' });
  });

  it('as root with apt-get: apt-get update, then one install of each package once', () => {
    const plan = planOsPackages(facts({ met: without('psql', 'pgbench', 'java') }));
    expect(plan.action).toBe('install');
    if (plan.action !== 'install') return;
    expect(plan.packages).toEqual(['default-jre-headless', 'postgresql-client']);
    expect(plan.commands).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'default-jre-headless', 'postgresql-client'],
    ]);
    expect(plan.say).toContain('psql (postgresql-client;');
  });

  it('not root: stops with the exact sudo command to run', () => {
    const plan = planOsPackages(facts({ root: false, met: without(`/usr/bin/python3 with asyncpg`) }));
    expect(plan).toMatchObject({ action: 'stop', packages: ['python3-asyncpg'] });
    if (plan.action !== 'stop') return;
    expect(plan.say).toContain(
      'sudo apt-get update && sudo apt-get install -y --no-install-recommends python3-asyncpg',
    );
  });

  it('root without apt-get: stops and names the Debian packages to find equivalents of', () => {
    const plan = planOsPackages(facts({ aptGet: false, met: without('openssl') }));
    expect(plan.action).toBe('stop');
    if (plan.action !== 'stop') return;
    expect(plan.say).toContain('no apt-get');
    expect(plan.say).toContain('(openssl)');
    expect(plan.say).not.toContain('sudo');
  });

  it("asks for the server of pg_dump's own major version, or the default one with the client", () => {
    const server = "a PostgreSQL server of pg_dump's major version";
    expect(planOsPackages(facts({ pgDumpMajor: 16, met: without(server) }))).toMatchObject({
      packages: ['postgresql-16'],
    });
    expect(
      planOsPackages(facts({ pgDumpMajor: null, met: without(server, 'pg_dump', 'pg_restore') })),
    ).toMatchObject({ packages: ['postgresql', 'postgresql-client'] });
    expect(pgServerBinary(15)).toBe('/usr/lib/postgresql/15/bin/postgres');
  });

  it("reads pg_dump's major version", () => {
    expect(pgMajor('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toBe(15);
    expect(pgMajor('pg_dump (PostgreSQL) 17.2\n')).toBe(17);
    expect(pgMajor('garbage')).toBeNull();
  });
});

describe('scripts/os-packages.ts on a machine without the programs', () => {
  it('exits non-zero at once and says what to install', () => {
    // PATH holds node only: no psql, java, apt-get... (the script must not try to install).
    const bin = mkdtempSync(join(tmpdir(), 'postern-path-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'os-packages.ts')], {
        env: { PATH: bin, HOME: process.env['HOME'] ?? '/' },
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('- psql (postgresql-client;');
      expect(r.stderr).toContain('- java (default-jre-headless;');
      expect(r.stderr).toContain('no apt-get');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
