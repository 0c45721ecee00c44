/**
 * The real `kubectl` through a kubeconfig written by the real `postern kube-config`, against the
 * stand-in API server of test/kube/ (it STANDS IN FOR A CLUSTER: none can run on the machines this
 * is tested on). The stand-in accepts one bearer token, the JWT-shaped one in a token file, so a
 * listing that succeeds proves kubectl ran `postern kube-credential` and sent what it printed.
 * `--server` points the context at the stand-in instead of an edge; nothing else differs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type KubeStandIn } from '../../test/kube/server.ts';

const run = promisify(execFile);
const POSTERN = fileURLToPath(new URL('../bin/postern.mjs', import.meta.url));
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

let kube: KubeStandIn;
let dir: string;
let token: string;
// Only what the commands need: no POSTERN_TOKEN or client credentials from the test's own env.
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-kubecli-'));
  token = jwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 });
  writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
  kube = await start({ host: '127.0.0.1', port: 0, tls: true, token });
  writeFileSync(join(dir, 'ca.pem'), kube.caPem);
  kube.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  });
  env = { PATH: process.env['PATH'], HOME: dir };
}, 30_000);

afterAll(async () => {
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kubeConfig = (file: string, ...extra: string[]) =>
  run(
    process.execPath,
    [
      POSTERN,
      'kube-config',
      'demo-kube',
      '--edge',
      'http://127.0.0.1:9',
      '--server',
      kube.url,
      '--certificate-authority',
      join(dir, 'ca.pem'),
      '--kubeconfig',
      file,
      ...extra,
    ],
    { env },
  );

describe('kubectl with a context from postern kube-config', () => {
  it('kubectl get pods runs kube-credential and sends its token; other contexts survive', async () => {
    const file = join(dir, 'kubeconfig.json');
    const theirs = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'prod', cluster: { server: 'https://10.0.0.1:6443' } }],
      users: [{ name: 'prod', user: { token: 'theirs' } }],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod' } }],
      'current-context': 'prod',
    };
    writeFileSync(file, JSON.stringify(theirs), { mode: 0o644 });
    const first = await kubeConfig(file, '--token-file', join(dir, 'token'), '--use', '--json');
    const report = JSON.parse(first.stdout);
    expect(report).toMatchObject({ kubeconfig: file, changed: true, context: 'demo-kube.postern' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(written).not.toContain(token); // the file names the token file, never the token
    // The plugin is this node and the bundle, by absolute path: no tsx start per kubectl command.
    const exec = JSON.parse(written).users.find((u: { name: string }) => u.name === 'demo-kube.postern').user
      .exec;
    expect(exec.command).toBe(process.execPath);
    expect(exec.args).toEqual([
      expect.stringMatching(/\/dist\/kube-credential\.mjs$/),
      '--edge',
      'http://127.0.0.1:9',
      '--token-file',
      join(dir, 'token'),
      'demo-kube',
    ]);
    const names = (
      await run('kubectl', ['--kubeconfig', file, 'config', 'get-contexts', '-o', 'name'], { env })
    ).stdout
      .trim()
      .split('\n')
      .sort();
    expect(names).toEqual(['demo-kube.postern', 'prod']);

    kube.requests.length = 0;
    const got = await run('kubectl', ['--kubeconfig', file, 'get', 'pods', '-o', 'name'], { env });
    expect(got.stdout.trim()).toBe('pod/web-1');
    expect(kube.requests.length).toBeGreaterThan(0);
    for (const r of kube.requests) expect(r.headers.authorization).toBe(`Bearer ${token}`);

    // A re-run changes nothing.
    const again = JSON.parse(
      (await kubeConfig(file, '--token-file', join(dir, 'token'), '--use', '--json')).stdout,
    );
    expect(again.changed).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(written);
  }, 30_000);

  it('a token the server refuses fails kubectl; an expired one fails in the plugin, on stderr', async () => {
    const file = join(dir, 'other.json');
    writeFileSync(join(dir, 'wrong'), jwt({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 3600 }));
    await kubeConfig(file, '--token-file', join(dir, 'wrong'), '--use');
    await expect(run('kubectl', ['--kubeconfig', file, 'get', 'pods'], { env })).rejects.toMatchObject({
      stderr: expect.stringMatching(/Unauthorized|provide credentials/),
    });
    writeFileSync(join(dir, 'wrong'), jwt({ sub: 'alice', exp: 1_000_000_000 }));
    await expect(run('kubectl', ['--kubeconfig', file, 'get', 'pods'], { env })).rejects.toMatchObject({
      stderr: expect.stringMatching(/token expired at 2001-09-09T01:46:40Z/),
    });
  }, 30_000);

  it('merges into a YAML kubeconfig kubectl wrote; kubectl then uses both contexts', async () => {
    const file = join(dir, 'config');
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', file, ...args], { env });
    await kubectl('config', 'set-cluster', 'prod', '--server', 'https://10.0.0.1:6443');
    await kubectl('config', 'set-credentials', 'prod-admin', '--token', 'theirs');
    await kubectl(
      'config',
      'set-context',
      'prod',
      '--cluster',
      'prod',
      '--user',
      'prod-admin',
      '--namespace',
      'on',
    );
    await kubectl('config', 'use-context', 'prod');
    const theirs = readFileSync(file, 'utf8');
    expect(() => JSON.parse(theirs)).toThrow(); // kubectl writes YAML
    const view = async () => JSON.parse((await kubectl('config', 'view', '--raw', '-o', 'json')).stdout);
    const before = await view();

    const first = JSON.parse((await kubeConfig(file, '--token-file', join(dir, 'token'), '--json')).stdout);
    expect(first.changed).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(() => JSON.parse(written)).toThrow(); // still YAML
    expect(written).not.toContain(token);

    // kubectl reads what postern wrote: their entries as they were, ours added, current-context kept.
    const after = await view();
    expect(after['current-context']).toBe('prod');
    // (kubectl config view lists entries sorted by name)
    const named = (o: Record<string, Array<{ name: string }>>, list: string, name: string) =>
      o[list]!.find((x) => x.name === name);
    for (const [list, theirName] of [
      ['clusters', 'prod'],
      ['users', 'prod-admin'],
      ['contexts', 'prod'],
    ] as const) {
      expect(named(after, list, theirName)).toEqual(named(before, list, theirName));
      expect(after[list]).toHaveLength(2);
      expect(named(after, list, 'demo-kube.postern')).toBeDefined();
    }
    expect(named(after, 'contexts', 'prod')).toMatchObject({ context: { namespace: 'on' } });
    const names = (await kubectl('config', 'get-contexts', '-o', 'name')).stdout.trim().split('\n').sort();
    expect(names).toEqual(['demo-kube.postern', 'prod']);

    kube.requests.length = 0;
    const got = await kubectl('--context', 'demo-kube.postern', 'get', 'pods', '-o', 'name');
    expect(got.stdout.trim()).toBe('pod/web-1');
    expect(kube.requests.length).toBeGreaterThan(0);
    for (const r of kube.requests) expect(r.headers.authorization).toBe(`Bearer ${token}`);

    // A re-run writes nothing, also after kubectl has rewritten the file in its own layout.
    const again = await kubeConfig(file, '--token-file', join(dir, 'token'), '--json');
    expect(JSON.parse(again.stdout).changed).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(written);
    await kubectl('config', 'set-context', 'prod', '--namespace', 'web');
    const rewritten = readFileSync(file, 'utf8');
    const third = await kubeConfig(file, '--token-file', join(dir, 'token'), '--json');
    expect(JSON.parse(third.stdout).changed).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(rewritten);
  }, 30_000);

  it('refuses a YAML file with duplicate keys, or of several documents, and leaves it as it was', async () => {
    const file = join(dir, 'bad.yaml');
    for (const bad of [
      'apiVersion: v1\nkind: Config\nusers: []\nusers: []\n',
      'apiVersion: v1\nkind: Config\n---\napiVersion: v1\n',
    ]) {
      writeFileSync(file, bad);
      await expect(kubeConfig(file)).rejects.toMatchObject({
        stderr: expect.stringMatching(/DUPLICATE_KEY|2 YAML documents/),
      });
      expect(readFileSync(file, 'utf8')).toBe(bad);
    }
  }, 30_000);
});
