import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const CLI = join(fileURLToPath(import.meta.url), '..', 'bin', 'postern.mjs');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('postern CLI', () => {
  it('prints help for every command', () => {
    for (const cmd of [
      'connect',
      'token',
      'connector',
      'sessions',
      'dev',
      'bench',
      'ssh',
      'ssh-config',
      'ssh-proxy',
    ]) {
      const r = run(cmd, '--help');
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: postern ${cmd}`);
      expect(r.stdout).toContain('Example');
    }
    // Nine CLI starts: ~10 s quiet, 54 s when CI shared the two cores with six other jobs.
  }, 180_000);

  it('names the valid commands when given an unknown one', () => {
    const r = run('conect');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "conect"');
    expect(r.stderr).toContain('connect, token, connector, sessions, dev, bench');
  });

  it('explains missing options and exits 2', () => {
    const r = run('connector', '--edge', 'http://127.0.0.1:1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing --token, --allow');
    const c = run('connect', 'demo', '--edge', 'http://127.0.0.1:1', '--json');
    expect(c.status).toBe(2);
    expect(JSON.parse(c.stderr.trim().split('\n').pop()!).error.message).toContain('no token');
  });
});
