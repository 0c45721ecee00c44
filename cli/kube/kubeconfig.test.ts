import { describe, expect, it } from 'vitest';
import { CliError } from '../errors.ts';
import { parse, stringify } from 'yaml';
import { EXEC_API_VERSION, MAX_KUBECONFIG_BYTES, mergeKubeconfig, type KubeEntry } from './kubeconfig.ts';

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

  it('refuses what is neither a JSON nor a YAML kubeconfig', () => {
    for (const bad of ['[]', '"s"', '{"clusters": {"a": 1}}', 'just text', 'a: [\n', 'clusters: {a: 1}\n'])
      expect(() => mergeKubeconfig(bad, ENTRY, false, '/k')).toThrow(CliError);
  });
});

// A kubeconfig as kubectl writes it (YAML, `- name` at the list's indent), with comments, a key
// we never set, and scalars that YAML 1.1 (kubectl) and YAML 1.2 read differently when re-spelled.
const THEIRS_YAML = `# my clusters
apiVersion: v1
kind: Config
preferences: {}
current-context: prod
clusters:
- cluster:
    server: https://10.0.0.1:6443 # the office one
    proxy-url: on
  name: prod
users:
- name: prod-admin
  user:
    token: yes
contexts:
- context:
    cluster: prod
    namespace: 0777
    user: prod-admin
  name: prod
extensions:
- name: x
  extension: {a: 1e3, b: True}
`;

describe('mergeKubeconfig on a YAML kubeconfig', () => {
  const parse1 = (t: string) => parse(t, { version: '1.1' }); // how kubectl's go-yaml reads it

  it('merges into it and writes YAML: theirs and every other key kept, comments kept', () => {
    const { text, changed } = mergeKubeconfig(THEIRS_YAML, ENTRY, false, '/k');
    expect(changed).toBe(true);
    expect(() => JSON.parse(text)).toThrow(); // still YAML
    const before = parse(THEIRS_YAML);
    const o = parse(text);
    expect(o['current-context']).toBe('prod');
    expect(o.preferences).toEqual({});
    expect(o.extensions).toEqual(before.extensions);
    expect(o.clusters.map((c: { name: string }) => c.name)).toEqual(['prod', ENTRY.name]);
    expect(o.clusters[0]).toEqual(before.clusters[0]);
    expect(o.users[0]).toEqual(before.users[0]);
    expect(o.contexts[0]).toEqual(before.contexts[0]);
    expect(o.users[1].user.exec).toMatchObject({ command: ENTRY.command, args: ENTRY.args });
    expect(o.contexts[1]).toEqual({ name: ENTRY.name, context: { cluster: ENTRY.name, user: ENTRY.name } });
    // The file's text up to the end of its own entries is as it was, comments included.
    for (const line of THEIRS_YAML.split('\n').filter((l) => l.includes('#') || /^- /.test(l)))
      expect(text).toContain(line);
    expect(text).toContain('- name: demo-kube.postern\n  cluster:\n    server: https://edge.example');
    const used = mergeKubeconfig(THEIRS_YAML, ENTRY, true).text;
    expect(parse(used)['current-context']).toBe(ENTRY.name);
  });

  it('on/yes/0777/1e3/True keep their spelling (and so their meaning to kubectl)', () => {
    const text = mergeKubeconfig(THEIRS_YAML, ENTRY, true).text;
    for (const kept of ['proxy-url: on', 'token: yes', 'namespace: 0777', '{ a: 1e3, b: True }'])
      expect(text).toContain(kept);
    const k = parse1(text);
    const k0 = parse1(THEIRS_YAML);
    expect(k.clusters[0]).toEqual(k0.clusters[0]);
    expect(k.users[0]).toEqual(k0.users[0]);
    expect(k.contexts[0]).toEqual(k0.contexts[0]);
    expect(k.extensions).toEqual(k0.extensions);
  });

  it('strings it writes are the same strings to YAML 1.1 (quoted where plain would not be)', () => {
    const odd: KubeEntry = { ...ENTRY, name: 'on', namespace: '0777', args: ['yes', 'no', '1e3', '~', 'y'] };
    const text = mergeKubeconfig(THEIRS_YAML, odd, true).text;
    for (const o of [parse(text), parse1(text)]) {
      expect(o['current-context']).toBe('on');
      expect(o.contexts[1]).toEqual({
        name: 'on',
        context: { cluster: 'on', user: 'on', namespace: '0777' },
      });
      expect(o.users[1].user.exec.args).toEqual(odd.args);
    }
  });

  it('a re-run changes nothing; a changed server replaces its entry in place', () => {
    const once = mergeKubeconfig(THEIRS_YAML, ENTRY, true).text;
    const twice = mergeKubeconfig(once, ENTRY, true);
    expect(twice).toEqual({ text: once, changed: false });
    const moved = mergeKubeconfig(once, { ...ENTRY, server: 'https://other/v1/kube/demo-kube' }, true);
    expect(moved.changed).toBe(true);
    const o = parse(moved.text);
    expect(o.clusters).toHaveLength(2);
    expect(o.clusters[1].cluster.server).toBe('https://other/v1/kube/demo-kube');
    expect(moved.text).toContain('# the office one');
  });

  it('our entries as kubectl rewrites them (sorted keys, env: null) are not a change', () => {
    const ours = parse(mergeKubeconfig(THEIRS_YAML, ENTRY, false).text);
    ours.users[1].user.exec.env = null; // what `kubectl config ...` adds to an exec stanza
    const kubectlStyle = stringify(ours, { sortMapEntries: true, indentSeq: false });
    expect(mergeKubeconfig(kubectlStyle, ENTRY, false)).toEqual({ text: kubectlStyle, changed: false });
    // --use then sets current-context only: the entry (with env: null) is not replaced. (A long
    // string kubectl folded may come back unfolded: the same string.)
    const used = mergeKubeconfig(kubectlStyle, ENTRY, true).text;
    expect(parse(used)).toEqual({ ...ours, 'current-context': ENTRY.name });
    expect(used).toContain('env: null');
  });

  it('empty lists (users: [], contexts: null) grow as block lists', () => {
    const text = mergeKubeconfig(
      'apiVersion: v1\nkind: Config\nusers: []\ncontexts: null\n',
      ENTRY,
      false,
    ).text;
    expect(text).toMatch(/^users:\n- name: demo-kube.postern$/m);
    expect(text).toMatch(/^contexts:\n- name: demo-kube.postern$/m);
    expect(parse(text).clusters).toHaveLength(1);
  });

  it('refuses duplicate keys, several documents, alias bombs, and aliases it would edit through', () => {
    const refuse = (t: string, why: RegExp) =>
      expect(() => mergeKubeconfig(t, ENTRY, false, '/k')).toThrowError(why);
    refuse('apiVersion: v1\nclusters: []\nclusters: []\n', /DUPLICATE_KEY/);
    refuse('- name: a\n  name: b\n', /DUPLICATE_KEY/);
    refuse('apiVersion: v1\n---\napiVersion: v1\n', /2 YAML documents/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${'b'.repeat(i)}: &b${i} [${Array(10)
          .fill(i === 1 ? '*a' : `*b${i - 1}`)
          .join(', ')}]`,
      );
    refuse(bomb.join('\n') + '\n', /Excessive alias count/);
    // Our user is an alias of another entry: replacing it in place would edit that entry too.
    const aliased = `clusters:\n- &c {name: ${ENTRY.name}, cluster: {server: https://x}}\nusers:\n- *c\n`;
    refuse(aliased, /anchors or aliases/);
    // Our cluster is anchored and named elsewhere: replacing it would orphan the alias.
    refuse(
      `clusters:\n- &c {name: ${ENTRY.name}, cluster: {server: https://x}}\nextensions:\n- *c\n`,
      /anchors or aliases/,
    );
  });

  it('keeps an anchor and alias it does not edit through', () => {
    const t = 'kind: Config\nx-common: &c {server: https://a}\nclusters:\n- name: a\n  cluster: *c\n';
    const text = mergeKubeconfig(t, ENTRY, false).text;
    expect(text).toContain('cluster: *c');
    expect(parse(text).clusters[0]).toEqual({ name: 'a', cluster: { server: 'https://a' } });
  });

  it('refuses a file over MAX_KUBECONFIG_BYTES before parsing it', () => {
    const big = `kind: Config\n# ${'x'.repeat(MAX_KUBECONFIG_BYTES)}\n`;
    expect(() => mergeKubeconfig(big, ENTRY, false)).toThrowError(/over \d+ bytes/);
  });
});
