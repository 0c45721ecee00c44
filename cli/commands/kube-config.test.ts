import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeconfigFile, run, serverUrl } from './kube-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-kube-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command against an edge that answers GET /api/v1/me/connections with `listing`. */
async function withListing(listing: unknown, file: string, ...extra: string[]) {
  const calls: string[] = [];
  const fetch = (async (input: URL, init: RequestInit) => {
    calls.push(`${init.method} ${input.pathname} ${(init.headers as Record<string, string>).Authorization}`);
    return new Response(JSON.stringify(listing), { headers: { 'Content-Type': 'application/json' } });
  }) as unknown as typeof globalThis.fetch;
  let out = '';
  await run(['demo-kube', '--edge', 'https://edge.example', '--kubeconfig', file, '--json', ...extra], {
    fetch,
    env: { POSTERN_TOKEN: 'tok' },
    write: (t) => (out += t),
  });
  return { calls, report: JSON.parse(out) as { server: string; exec: { args: string[] } } };
}

describe('postern kube-config', () => {
  it('asks the edge for the caller connections and points the context at <edge>/v1/kube/<connection>', async () => {
    const file = join(dir, 'a.json');
    const { calls, report } = await withListing(
      { connections: [{ name: 'demo-kube', protocol: 'kubernetes' }] },
      file,
      '--postern',
      'postern',
    );
    expect(calls).toEqual(['GET /api/v1/me/connections Bearer tok']);
    expect(report.server).toBe('https://edge.example/v1/kube/demo-kube');
    expect(report.exec.args).toEqual(['kube-credential', '--edge', 'https://edge.example', 'demo-kube']);
    const o = JSON.parse(readFileSync(file, 'utf8'));
    expect(o.users[0].user.exec.command).toBe('postern');
    expect(JSON.stringify(o)).not.toContain('tok"'); // the token from the env is never written
  });

  it('uses https://<connection>.<base domain> when the edge reports one', async () => {
    const { report } = await withListing(
      { connections: [{ name: 'demo-kube', protocol: 'kubernetes' }], baseDomain: 'Kube.Example.com' },
      join(dir, 'b.json'),
      '--postern',
      'postern',
    );
    expect(report.server).toBe('https://demo-kube.kube.example.com');
  });

  it('refuses a connection that is not Kubernetes, and a hostile name', async () => {
    await expect(
      withListing({ connections: [{ name: 'demo-kube', protocol: 'ssh' }] }, join(dir, 'c.json')),
    ).rejects.toThrow(/ssh connection, not Kubernetes/);
    await expect(run(['x; rm -rf /', '--edge', 'https://e', '--server', 'https://s'])).rejects.toThrow(
      /not a connection name/,
    );
    expect(() => serverUrl('https://e', 'c', undefined, 'file:///etc/passwd')).toThrow(/not an http/);
    // A base domain that is not a host name is ignored: the edge's path is used.
    expect(serverUrl('https://e', 'c', 'evil.com/x?')).toBe('https://e/v1/kube/c');
  });

  it('edits --kubeconfig, else the first file of $KUBECONFIG, else ~/.kube/config', () => {
    expect(kubeconfigFile('/x/k', {})).toBe('/x/k');
    expect(kubeconfigFile(undefined, { KUBECONFIG: ':/a/one:/b/two', HOME: '/h' })).toBe('/a/one');
    expect(kubeconfigFile(undefined, { HOME: '/h' })).toBe('/h/.kube/config');
  });
});
