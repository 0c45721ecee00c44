import { describe, expect, it } from 'vitest';
import { CliError } from '../errors.ts';
import { EXEC_API_VERSION, mergeKubeconfig, type KubeEntry } from './kubeconfig.ts';

const ENTRY: KubeEntry = {
  name: 'demo-kube.postern',
  server: 'https://edge.example/v1/kube/demo-kube',
  command: '/usr/bin/node',
  args: [
    '/opt/postern/cli/bin/postern.mjs',
    'kube-credential',
    '--edge',
    'https://edge.example',
    'demo-kube',
  ],
};

// A kubeconfig someone already has (as JSON): another cluster, user, context, and keys we never set.
const THEIRS = {
  apiVersion: 'v1',
  kind: 'Config',
  preferences: { colors: true },
  'current-context': 'prod',
  clusters: [
    { name: 'prod', cluster: { server: 'https://10.0.0.1:6443', 'insecure-skip-tls-verify': false } },
  ],
  users: [{ name: 'prod-admin', user: { token: 'keep-me' } }],
  contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod-admin', namespace: 'web' } }],
  extensions: [{ name: 'x', extension: { a: 1 } }],
};

describe('mergeKubeconfig', () => {
  it('a new file gets a Config with one cluster, one exec user and one context', () => {
    const { text, changed } = mergeKubeconfig(undefined, ENTRY, true);
    expect(changed).toBe(true);
    const o = JSON.parse(text);
    expect(o).toMatchObject({ apiVersion: 'v1', kind: 'Config', 'current-context': ENTRY.name });
    expect(o.clusters).toEqual([{ name: ENTRY.name, cluster: { server: ENTRY.server } }]);
    expect(o.contexts).toEqual([{ name: ENTRY.name, context: { cluster: ENTRY.name, user: ENTRY.name } }]);
    expect(o.users).toHaveLength(1);
    expect(o.users[0].user.exec).toMatchObject({
      apiVersion: EXEC_API_VERSION,
      command: ENTRY.command,
      args: ENTRY.args,
      interactiveMode: 'Never',
      provideClusterInfo: false,
    });
  });

  it('keeps every other cluster, user, context and key; current-context only with --use', () => {
    const before = JSON.stringify(THEIRS, null, 2);
    const kept = JSON.parse(mergeKubeconfig(before, ENTRY, false).text);
    expect(kept['current-context']).toBe('prod');
    expect(kept.preferences).toEqual(THEIRS.preferences);
    expect(kept.extensions).toEqual(THEIRS.extensions);
    expect(kept.clusters[0]).toEqual(THEIRS.clusters[0]);
    expect(kept.users[0]).toEqual(THEIRS.users[0]);
    expect(kept.contexts[0]).toEqual(THEIRS.contexts[0]);
    expect(kept.clusters.map((c: { name: string }) => c.name)).toEqual(['prod', ENTRY.name]);
    const used = JSON.parse(mergeKubeconfig(before, ENTRY, true).text);
    expect(used['current-context']).toBe(ENTRY.name);
  });

  it('re-running is idempotent: same entries replaced in place, nothing changed', () => {
    const once = mergeKubeconfig(JSON.stringify(THEIRS), ENTRY, true).text;
    const twice = mergeKubeconfig(once, ENTRY, true);
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once);
    const moved = JSON.parse(
      mergeKubeconfig(once, { ...ENTRY, server: 'https://other/v1/kube/demo-kube' }, true).text,
    );
    expect(moved.clusters).toHaveLength(2);
    expect(moved.clusters[1].cluster.server).toBe('https://other/v1/kube/demo-kube');
  });

  it('a private CA becomes certificate-authority-data; a namespace goes on the context', () => {
    const o = JSON.parse(mergeKubeconfig('', { ...ENTRY, caPem: 'PEM\n', namespace: 'web' }, false).text);
    expect(o.clusters[0].cluster['certificate-authority-data']).toBe(Buffer.from('PEM\n').toString('base64'));
    expect(o.contexts[0].context.namespace).toBe('web');
  });

  it('refuses a YAML kubeconfig (as kubectl writes it) rather than rewrite it', () => {
    const yaml = 'apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://x\n';
    expect(() => mergeKubeconfig(yaml, ENTRY, false, '/home/u/.kube/config')).toThrowError(
      /is YAML .*KUBECONFIG=\/home\/u\/.kube\/config:/,
    );
    for (const bad of ['[]', '"s"', '{"clusters": {"a": 1}}'])
      expect(() => mergeKubeconfig(bad, ENTRY, false)).toThrow(CliError);
  });
});
