import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProxyBundle, ensureProxyBundle, PROXY_BUNDLE, proxyBundleIsFresh } from './proxy-bundle.ts';
import { proxySpec } from './client-setup.ts';
import { proxyCommand } from './ssh-config.ts';
import { shQuote } from '../shell-quote.ts';

// The shipped ProxyCommand: node and one bundled file, no tsx (issue 11 gap 3). Built here into
// a folder whose name holds a space and a quote, as a user's home or checkout may.
const dir = mkdtempSync(join(tmpdir(), "postern bundle it's-"));
const out = join(dir, 'ssh-proxy.mjs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a ProxyCommand line as ssh does (`$SHELL -c "exec ..."`), with more arguments. */
const sh = (line: string, ...more: string[]) =>
  spawnSync('/bin/sh', ['-c', `exec ${line} ${more.map(shQuote).join(' ')}`], { encoding: 'utf8' });

describe('the bundled ssh-proxy', () => {
  it('builds into one file that runs with plain node and loads no TypeScript', async () => {
    await buildProxyBundle(out);
    expect(proxyBundleIsFresh(out)).toBe(true);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toMatch(/from ['"]tsx|\.ts['"]\)/);
    const help = spawnSync(process.execPath, [out, '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: postern ssh-proxy <connection>');
  });

  it('reports errors as the CLI does: one line on stderr and its exit code', () => {
    const none = spawnSync(process.execPath, [out], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(
      'postern ssh-proxy: name exactly one connection: postern ssh-proxy <connection>\n',
    );
    const bad = spawnSync(process.execPath, [out, '--nope', 'x'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^postern ssh-proxy: .*--nope.*See: postern ssh-proxy --help\n$/);
  });

  it('is built again when it is older than one of its sources', async () => {
    const old = new Date('2000-01-01T00:00:00Z');
    utimesSync(out, old, old);
    expect(proxyBundleIsFresh(out)).toBe(false);
    await ensureProxyBundle(out);
    expect(proxyBundleIsFresh(out)).toBe(true);
    expect(proxyBundleIsFresh(join(dir, 'missing.mjs'))).toBe(false);
  });

  it('is what the ProxyCommand of ssh-config and ssh runs, quoted for a path with spaces', async () => {
    const spec = await proxySpec({}, 'http://127.0.0.1:9');
    expect(spec.proxy).toEqual([process.execPath, PROXY_BUNDLE]);
    expect(existsSync(PROXY_BUNDLE) && proxyBundleIsFresh()).toBe(true);
    const line = proxyCommand(spec, 'demo-ssh');
    expect(line).toBe(
      `${shQuote(process.execPath)} ${shQuote(PROXY_BUNDLE)} --edge http://127.0.0.1:9 demo-ssh`,
    );
    expect(sh(line, '--help').stdout).toContain('Usage: postern ssh-proxy');

    const spaced = proxyCommand({ ...spec, proxy: [process.execPath, out] }, 'demo-ssh');
    expect(spaced).toContain(shQuote(out));
    const r = sh(spaced, '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: postern ssh-proxy');
  });

  it('keeps `--postern CMD` as a way to run it through the CLI', async () => {
    const spec = await proxySpec({ postern: 'postern --x' }, 'http://e');
    expect(spec.proxy).toEqual(['postern', '--x', 'ssh-proxy']);
  });
});
