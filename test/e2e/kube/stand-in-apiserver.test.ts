/**
 * The stand-in Kubernetes API server (test/kube/server.ts) driven by the real `kubectl`. It
 * STANDS IN FOR A CLUSTER: no kube-apiserver can run on the machines this project is tested on,
 * so Postern's Kubernetes tests and the `postern dev` demo use this one; these tests show that a
 * real client accepts its wire (discovery, Table and JSON responses, protobuf create bodies,
 * strategic merge patches, watch, logs, exec, cp, port forward, Status errors). The product
 * never depends on it. stand-in-client-node.test.ts does the same with @kubernetes/client-node.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubectl as runKubectl,
  lastRequest as lastRequestOf,
  startForClients,
  stopForClients,
  until,
  writeKubeconfig as writeKubeconfigFor,
  type StandInClients,
} from '../../kube/kubectl-helpers.ts';
import type { KubeStandIn } from '../../kube/server.ts';

let c: StandInClients;
let kube: KubeStandIn;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  c = await startForClients();
  ({ kube, dir, kubeconfig } = c);
});

afterAll(() => stopForClients(c));

const writeKubeconfig = (file: string, token: string, cert?: { certPem: string; keyPem: string }) =>
  writeKubeconfigFor(kube, file, token, cert);
const kubectl = (args: string[], opts?: Parameters<typeof runKubectl>[2]) => runKubectl(c, args, opts);
const lastRequest = (pred: (url: string, method: string) => boolean) => lastRequestOf(kube, pred);

describe('kubectl against the stand-in API server (it stands in for a cluster)', () => {
  it('discovers the API: aggregated discovery v2, api-resources and the server version', async () => {
    const r = await kubectl(['api-resources']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(r.stdout).toMatch(/^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
    const apis = lastRequest((u) => u.startsWith('/apis?') || u === '/apis')!;
    expect(apis.headers.accept).toContain('as=APIGroupDiscoveryList');
    const v = await kubectl(['version', '-o', 'json']);
    expect(JSON.parse(v.stdout).serverVersion.gitVersion).toBe('v1.32.0-postern-stand-in');
  });

  it('gets pods as a Table, as JSON, YAML and jsonpath, and describes one', async () => {
    const table = await kubectl(['get', 'pods']);
    expect(table.stdout).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+1\/1\s+Running\s+0\s+\d+s\n$/,
    );
    const list = lastRequest((u) => u.startsWith('/api/v1/namespaces/default/pods?'))!;
    expect(list.headers.accept).toContain('application/json;as=Table;v=v1;g=meta.k8s.io');
    const json = JSON.parse((await kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout);
    expect(json).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      status: { phase: 'Running' },
    });
    expect((await kubectl(['get', 'pod', 'web', '-o', 'yaml'])).stdout).toMatch(/^kind: Pod$/m);
    expect(
      (await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout,
    ).toBe('web');
    expect((await kubectl(['get', 'pods', '-l', 'app=nope'])).stderr).toMatch(
      /No resources found in default namespace/,
    );
    const d = await kubectl(['describe', 'pod', 'web']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^Status:\s+Running$/m);
    expect(d.stdout).toMatch(/^\s+Image:\s+nginx:1\.27$/m);
  });

  it('creates a secret (kubectl sends protobuf) whose data reads back base64', async () => {
    const r = await kubectl(['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2']);
    expect(r.stdout).toBe('secret/creds created\n');
    const post = lastRequest((u, m) => m === 'POST' && u.startsWith('/api/v1/namespaces/default/secrets'))!;
    expect(post.headers['content-type']).toBe('application/vnd.kubernetes.protobuf');
    const got = await kubectl(['get', 'secret', 'creds', '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(got.stdout, 'base64').toString()).toBe('hunter2');
    expect((await kubectl(['get', 'secrets'])).stdout).toMatch(/^creds\s+Opaque\s+1\s+\d+s$/m);
  });

  it('applies, re-applies (strategic merge patch) and deletes, with the last-applied annotation', async () => {
    const manifest = (replicas: number, mode: string, password: string) =>
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: api, labels: {app: api}}',
        'spec:',
        `  replicas: ${replicas}`,
        '  selector: {matchLabels: {app: api}}',
        '  template:',
        '    metadata: {labels: {app: api}}',
        '    spec:',
        '      containers:',
        '      - {name: api, image: "example/api:1", env: [{name: MODE, value: ' +
          mode +
          '}, {name: KEEP, value: "1"}]}',
        '      - {name: sidecar, image: "example/side:1"}',
        '---',
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: db}',
        `stringData: {password: ${password}}`,
        '',
      ].join('\n');
    writeFileSync(join(dir, 'app.yaml'), manifest(2, 'prod', 's3cret'));
    const first = await kubectl(['apply', '-f', 'app.yaml']);
    expect(first.stdout).toBe('deployment.apps/api created\nsecret/db created\n');
    writeFileSync(join(dir, 'app.yaml'), manifest(3, 'staging', 'n3w'));
    const second = await kubectl(['apply', '-f', 'app.yaml']);
    expect(second.stdout).toBe('deployment.apps/api configured\nsecret/db configured\n');
    const patch = lastRequest((u, m) => m === 'PATCH' && u.includes('/deployments/api'))!;
    expect(patch.headers['content-type']).toBe('application/strategic-merge-patch+json');
    const dep = JSON.parse((await kubectl(['get', 'deploy', 'api', '-o', 'json'])).stdout);
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual([
      'api',
      'sidecar',
    ]);
    expect(dep.spec.template.spec.containers[0].env).toEqual([
      { name: 'MODE', value: 'staging' },
      { name: 'KEEP', value: '1' },
    ]);
    expect((await kubectl(['get', 'deploy'])).stdout).toMatch(/^api\s+3\/3\s+3\s+3\s+\d+s$/m);
    const secret = JSON.parse((await kubectl(['get', 'secret', 'db', '-o', 'json'])).stdout);
    expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('n3w');
    // The annotation kubectl writes holds the Secret in clear: what Postern must mask.
    expect(secret.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      '"password":"n3w"',
    );
    const del = await kubectl(['delete', '-f', 'app.yaml']);
    expect(del.stdout).toBe('deployment.apps "api" deleted\nsecret "db" deleted\n');
    expect((await kubectl(['get', 'deploy', 'api'])).stderr).toBe(
      'Error from server (NotFound): deployments.apps "api" not found\n',
    );
  });

  it('serves Tables with whole objects (includeObject=Object) and Table watch events', async () => {
    const get = (path: string, accept: string) =>
      new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = httpsGet(
          `${kube.url}${path}`,
          { ca: kube.caPem, headers: { authorization: `Bearer ${kube.token}`, accept } },
          (res) => {
            let body = '';
            res.on('data', (b: Buffer) => (body += b.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }),
            );
          },
        );
        req.on('error', reject);
      });
    const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const t = await get('/api/v1/namespaces/default/secrets?includeObject=Object', TABLE);
    const table = JSON.parse(t.body);
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(table.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Type',
      'Data',
      'Age',
    ]);
    const row = table.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'creds');
    expect(row.object).toMatchObject({
      kind: 'Secret',
      data: { password: Buffer.from('hunter2').toString('base64') },
    });
    const meta = JSON.parse((await get('/api/v1/namespaces/default/secrets', TABLE)).body);
    expect(meta.rows[0].object.kind).toBe('PartialObjectMetadata');
    expect(meta.rows[0].object.data).toBeUndefined();
    kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'second', namespace: 'default' },
      stringData: { k: 'v' },
    });
    const w = await get(
      '/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1&includeObject=Object',
      TABLE,
    );
    const events = w.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({
      type: 'ADDED',
      object: { kind: 'Table', rows: [{ object: { kind: 'Secret' } }] },
    });
    expect(events[0].object.columnDefinitions).toHaveLength(4);
    // Column definitions come with the first event only, as kube-apiserver sends them.
    expect(events[1].object).toMatchObject({ kind: 'Table', columnDefinitions: null });
    const proto = await get('/api/v1/namespaces/default/pods', 'application/vnd.kubernetes.protobuf');
    expect(proto.status).toBe(406);
  });

  it('prints the API server Status errors: NotFound, AlreadyExists, Forbidden, Invalid, Unauthorized', async () => {
    expect((await kubectl(['get', 'pod', 'nope'])).stderr).toBe(
      'Error from server (NotFound): pods "nope" not found\n',
    );
    expect((await kubectl(['create', 'configmap', 'dup'])).code).toBe(0);
    expect((await kubectl(['create', 'configmap', 'dup'])).stderr).toBe(
      'error: failed to create configmap: configmaps "dup" already exists\n',
    );
    expect((await kubectl(['-n', 'locked', 'create', 'configmap', 'keep'])).code).toBe(0);
    const refused = await kubectl(['-n', 'locked', 'delete', 'configmap', 'keep']);
    expect(refused.stderr).toBe(
      'Error from server (Forbidden): configmaps "keep" is forbidden: User "stand-in-admin" cannot delete resource "configmaps" in API group "" in the namespace "locked"\n',
    );
    expect(refused.code).toBe(1);
    writeFileSync(
      join(dir, 'bad.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: empty}\nspec: {containers: []}\n',
    );
    expect((await kubectl(['apply', '-f', 'bad.yaml'])).stderr).toMatch(
      /The Pod "empty" is invalid: spec.containers: Required value/,
    );
    const badConfig = join(dir, 'bad-kubeconfig');
    writeKubeconfig(badConfig, 'not-the-token');
    const denied = await kubectl(['get', 'pods'], { config: badConfig });
    expect(denied.stderr).toMatch(/error: You must be logged in to the server \(Unauthorized\)/);
    const rec = lastRequest((u) => u.startsWith('/api'))!;
    expect(rec.headers.authorization).toBe('Bearer not-the-token');
    expect(rec.status).toBe(401);
  });

  it('records impersonation headers and acts as the impersonated user', async () => {
    const r = await kubectl([
      'get',
      'pods',
      '--as=alice@example.com',
      '--as-group=devs',
      '--as-group=oncall',
    ]);
    expect(r.code).toBe(0);
    const rec = lastRequest((u) => u.startsWith('/api/v1/namespaces/default/pods'))!;
    expect(rec.headers['impersonate-user']).toBe('alice@example.com');
    expect(rec.headers['impersonate-group']).toBe('devs, oncall');
    expect(rec.identity).toEqual({
      user: 'alice@example.com',
      groups: ['devs', 'oncall', 'system:authenticated'],
    });
  });

  it('authenticates a client certificate from its CA as CN user, O groups', async () => {
    const certConfig = join(dir, 'cert-kubeconfig');
    writeKubeconfig(certConfig, '', kube.clientCert('alice', ['devs']));
    const r = await kubectl(['get', 'pods', '-o', 'name'], { config: certConfig });
    expect(r).toEqual({ code: 0, stdout: expect.stringContaining('pod/web\n'), stderr: '' });
    const rec = lastRequest((u) => u.startsWith('/api/v1/namespaces/default/pods'))!;
    expect(rec.headers.authorization).toBeUndefined();
    expect(rec.identity).toEqual({ user: 'alice', groups: ['devs', 'system:authenticated'] });
  });

  it('follows logs until the container ends', async () => {
    kube.writeLog('default', 'web', 'first line\n');
    const r = await kubectl(['logs', '-f', 'web'], {
      during: async () => {
        await until(
          () => !!lastRequest((u) => u.includes('/pods/web/log?') && u.includes('follow=true')),
          'the log request',
        );
        kube.writeLog('default', 'web', 'second line\n');
        kube.endLog('default', 'web');
      },
    });
    expect(r).toEqual({ code: 0, stdout: 'first line\nsecond line\n', stderr: '' });
  });

  it('watches pods (get -w) until the server ends the watch', async () => {
    const r = await kubectl(['get', 'pods', '-w'], {
      during: async () => {
        await until(
          () => !!lastRequest((u) => u.includes('/pods?') && u.includes('watch=true')),
          'the watch',
        );
        await kubectl(['run', 'watched', '--image=busybox']);
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^web\s+1\/1\s+Running/m);
    expect(r.stdout).toMatch(/^watched\s+1\/1\s+Running\s+0\s+\d+s$/m);
    const w = lastRequest((u) => u.includes('watch=true'))!;
    expect(w.headers.accept).toContain('as=Table');
  });

  it('execs non-interactively and with stdin over WebSocket v5, with exit codes', async () => {
    expect(await kubectl(['exec', 'web', '--', 'echo', 'hello', 'world'])).toEqual({
      code: 0,
      stdout: 'hello world\n',
      stderr: '',
    });
    const rec = lastRequest((u) => u.includes('/pods/web/exec?'))!;
    expect(rec.headers['sec-websocket-protocol']).toMatch(/^v5\.channel\.k8s\.io/);
    expect(rec.status).toBe(101);
    const failing = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(failing).toEqual({
      code: 3,
      stdout: 'out\n',
      stderr: 'err\ncommand terminated with exit code 3\n',
    });
    const cat = await kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'line 1\nline 2\n' });
    expect(cat).toEqual({ code: 0, stdout: 'line 1\nline 2\n', stderr: '' });
    const script = await kubectl(['exec', '-i', 'web', '--', 'sh'], {
      input: 'echo a > /tmp/a.txt\ncat /tmp/a.txt\nexit 4\n',
    });
    expect(script.stdout).toBe('a\n');
    expect(script.code).toBe(4);
    expect((await kubectl(['exec', 'web', '--', 'nosuch'])).stderr).toMatch(
      /executable file not found in \$PATH/,
    );
  });

  it('copies files both ways with kubectl cp (tar over exec)', async () => {
    writeFileSync(join(dir, 'up.txt'), 'uploaded\n');
    expect((await kubectl(['cp', 'up.txt', 'web:/tmp/up.txt'])).code).toBe(0);
    expect(new TextDecoder().decode(kube.fs('default', 'web').files.get('/tmp/up.txt'))).toBe('uploaded\n');
    mkdirSync(join(dir, 'tree/sub'), { recursive: true });
    writeFileSync(join(dir, 'tree/sub/f.txt'), 'deep\n');
    expect((await kubectl(['cp', 'tree', 'web:/srv/tree'])).code).toBe(0);
    kube.fs('default', 'web').write('/srv/made.txt', new TextEncoder().encode('made in pod\n'));
    expect((await kubectl(['cp', 'web:/srv/made.txt', 'down.txt'])).code).toBe(0);
    expect(readFileSync(join(dir, 'down.txt'), 'utf8')).toBe('made in pod\n');
    expect((await kubectl(['cp', 'web:/srv/tree', 'tree-back'])).code).toBe(0);
    expect(readFileSync(join(dir, 'tree-back/sub/f.txt'), 'utf8')).toBe('deep\n');
  });
});

describe('kubectl port-forward (SPDY/3.1 inside a WebSocket) against the stand-in', () => {
  it('forwards two connections to the port the test exposed', async () => {
    const echo: Server = createServer((s) => s.on('data', (b) => s.write(`echo:${b}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    kube.exposePort('default', 'web', 80, (echo.address() as { port: number }).port);
    const p = spawn('kubectl', ['port-forward', '--address=127.0.0.1', 'pod/web', ':80'], {
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig },
    });
    try {
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await until(() => /Forwarding from 127\.0\.0\.1:\d+ -> 80/.test(out), 'kubectl to listen');
      const local = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const roundTrip = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const s = connect(local, '127.0.0.1', () => s.write(text));
          s.on('data', (b) => (resolve(b.toString()), s.end()));
          s.on('error', reject);
        });
      expect(await roundTrip('one')).toBe('echo:one');
      expect(await roundTrip('two')).toBe('echo:two');
      const rec = lastRequest((u) => u.includes('/pods/web/portforward'))!;
      expect(rec.headers['sec-websocket-protocol']).toBe('SPDY/3.1+portforward.k8s.io');
      expect(rec.status).toBe(101);
    } finally {
      p.kill();
      echo.close();
    }
  });
});
