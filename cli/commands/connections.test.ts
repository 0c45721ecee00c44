import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ConnectionView } from './connections.ts';

const EDGE = ['--edge', 'http://edge.test', '--token', 'tok-admin'];
let dir: string;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-cli-conn-'));
  keyFile = join(dir, 'id_ecdsa');
  execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ecdsa', '-C', '', '-f', keyFile]);
  writeFileSync(join(dir, 'target.pub'), `${readFileSync(`${keyFile}.pub`, 'utf8')}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `postern connections` against canned API answers; records what it sent. */
async function cli(argv: string[], answers: Array<{ status?: number; body: unknown }> = [], env = {}) {
  const calls: Array<{ url: URL; method: string; body: Record<string, unknown> | undefined }> = [];
  let out = '';
  const fetch = (async (input: URL, init: RequestInit) => {
    calls.push({
      url: new URL(input),
      method: init.method ?? 'GET',
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('no answer left');
    return Response.json(a.body, { status: a.status ?? 200 });
  }) as unknown as typeof globalThis.fetch;
  const code = await run([...argv, ...EDGE], { fetch, env, now: () => 0, write: (t) => (out += t) });
  return { code, out, calls };
}

const sshView = (over: Partial<ConnectionView> = {}): ConnectionView => ({
  id: 'cn_1',
  name: 'web-1',
  protocol: 'ssh',
  connector: 'dc1',
  target: { host: '10.0.0.7', port: 22, tls: 'none' },
  credential: { kind: 'encrypted', secretKind: 'private_key' },
  allow: { subjects: [], groups: ['ops'] },
  ssh: {
    hostKeys: ['ecdsa-sha2-nistp256 AAAAgateway'],
    targetHostKey: 'ecdsa-sha2-nistp256 AAAAtarget',
    targetHostKeyLearnedAt: '2026-12-03T10:00:00.000Z',
  },
  createdAt: '2026-12-03T09:00:00.000Z',
  updatedAt: '2026-12-03T09:00:00.000Z',
  ...over,
});

describe('postern connections create', () => {
  it('creates an SSH connection with the private key read from a file and a pinned target key from @FILE', async () => {
    const r = await cli(
      [
        'create',
        'web-1',
        '--protocol',
        'ssh',
        '--connector',
        'dc1',
        '--host',
        '10.0.0.7',
        '--private-key-file',
        keyFile,
        '--target-host-key',
        `@${join(dir, 'target.pub')}`,
        '--allow-groups',
        'ops, dev',
      ],
      [{ status: 201, body: sshView() }],
    );
    expect(r.code).toBe(0);
    expect(r.calls[0]!.method).toBe('POST');
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/connections');
    expect(r.calls[0]!.body).toEqual({
      name: 'web-1',
      protocol: 'ssh',
      connector: 'dc1',
      target: { host: '10.0.0.7' },
      credential: { privateKey: readFileSync(keyFile, 'utf8') },
      ssh: { targetHostKey: readFileSync(`${keyFile}.pub`, 'utf8').trim() },
      allow: { groups: ['ops', 'dev'], subjects: [] },
    });
    // The key went to the API, never to the terminal.
    expect(r.out).not.toContain('PRIVATE KEY');
    expect(r.out).toContain('ecdsa-sha2-nistp256 AAAAgateway');
  });

  it('takes a password from an environment variable, never from the command line', async () => {
    const r = await cli(
      [
        'create',
        'web-2',
        '--protocol',
        'ssh',
        '--connector',
        'dc1',
        '--host',
        'h',
        '--password-env',
        'WEB_PW',
      ],
      [{ status: 201, body: sshView({ name: 'web-2' }) }],
      { WEB_PW: 's3cret' },
    );
    expect(r.calls[0]!.body!['credential']).toEqual({ password: 's3cret' });
    await expect(
      cli([
        'create',
        'web-2',
        '--protocol',
        'ssh',
        '--connector',
        'dc1',
        '--host',
        'h',
        '--password-env',
        'NOPE',
      ]),
    ).rejects.toThrow(/NOPE is empty or unset/);
  });

  it('builds a Postgres connection by default', async () => {
    const r = await cli(
      [
        'create',
        'orders',
        '--connector',
        'dc1',
        '--host',
        'db',
        '--database',
        'orders',
        '--username',
        'app',
        '--credential-ref',
        'env:PW',
        '--tls',
        'postgres-starttls',
      ],
      [
        {
          status: 201,
          body: {
            ...sshView({ name: 'orders', protocol: 'postgres', database: 'orders', username: 'app' }),
            ssh: undefined,
          },
        },
      ],
    );
    expect(r.calls[0]!.body).toMatchObject({
      protocol: 'postgres',
      target: { host: 'db', port: 5432, tls: 'postgres-starttls' },
      database: 'orders',
      username: 'app',
      credential: { ref: 'env:PW' },
    });
  });

  it.each([
    [
      ['--protocol', 'ssh', '--host', 'h', '--connector', 'c', '--private-key-file', '/nonexistent/key'],
      /cannot read \/nonexistent\/key \(ENOENT\)/,
    ],
    [
      ['--protocol', 'ssh', '--host', 'h', '--connector', 'c'],
      /exactly one of --password-env, --private-key-file, --credential-ref/,
    ],
    [
      [
        '--protocol',
        'ssh',
        '--host',
        'h',
        '--connector',
        'c',
        '--credential-ref',
        'env:K',
        '--database',
        'x',
      ],
      /--database is for Postgres/,
    ],
    [
      [
        '--host',
        'h',
        '--connector',
        'c',
        '--database',
        'd',
        '--username',
        'u',
        '--credential-ref',
        'env:K',
        '--target-host-key',
        'x',
      ],
      /--target-host-key is for SSH/,
    ],
    [
      ['--protocol', 'telnet', '--host', 'h', '--connector', 'c', '--credential-ref', 'env:K'],
      /--protocol must be one of postgres, ssh/,
    ],
    [
      [
        '--protocol',
        'ssh',
        '--host',
        'h',
        '--connector',
        'c',
        '--credential-ref',
        'env:K',
        '--secret-kind',
        'token',
      ],
      /--secret-kind must be one of/,
    ],
  ])('refuses %j before calling the API', async (flags, why) => {
    const r = cli(['create', 'web-1', ...flags]);
    await expect(r).rejects.toThrow(why);
  });

  it('says which field the API refused', async () => {
    const r = cli(
      [
        'create',
        'web-1',
        '--protocol',
        'ssh',
        '--connector',
        'dc1',
        '--host',
        'h',
        '--credential-ref',
        'env:K',
        '--tls',
        'tls',
      ],
      [
        {
          status: 400,
          body: {
            error: {
              code: 'invalid_input',
              message: 'target.tls: SSH connections take tls "none"',
              field: 'target.tls',
            },
          },
        },
      ],
    );
    await expect(r).rejects.toThrow(/SSH connections take tls "none".*\(target.tls\)/);
  });
});

describe('postern connections show and list', () => {
  it('shows an SSH connection with its gateway host keys and the target pin', async () => {
    const r = await cli(['show', 'web-1'], [{ body: sshView() }]);
    expect(r.calls[0]!.url.pathname).toBe('/api/v1/connections/web-1');
    expect(r.out).toContain('web-1 (ssh) via connector dc1');
    expect(r.out).toContain('    ecdsa-sha2-nistp256 AAAAgateway');
    expect(r.out).toContain(
      'target host key: ecdsa-sha2-nistp256 AAAAtarget (learned 2026-12-03T10:00:00.000Z)',
    );
    const unpinned = await cli(
      ['show', 'web-1'],
      [{ body: sshView({ ssh: { hostKeys: ['k'], targetHostKey: null, targetHostKeyLearnedAt: null } }) }],
    );
    expect(unpinned.out).toContain('not pinned yet: the next session learns it');
    const json = await cli(['show', 'web-1', '--json'], [{ body: sshView() }]);
    expect(JSON.parse(json.out).ssh.hostKeys).toEqual(['ecdsa-sha2-nistp256 AAAAgateway']);
  });

  it('lists connections with their protocol', async () => {
    const r = await cli(['list'], [{ body: { connections: [sshView()] } }]);
    expect(r.out).toMatch(
      /NAME\s+PROTOCOL\s+CONNECTOR\s+TARGET\s+TLS\nweb-1\s+ssh\s+dc1\s+10\.0\.0\.7:22\s+none\n/,
    );
  });

  it('refuses a name no connection can have', async () => {
    await expect(cli(['show', '../admin'])).rejects.toThrow(/needs a connection name/);
  });
});

describe('postern connections, Kubernetes', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBcluster\n-----END CERTIFICATE-----\n';
  const kubeView = (over: Partial<ConnectionView> = {}): ConnectionView => ({
    id: 'cn_2',
    name: 'prod',
    protocol: 'kubernetes',
    connector: 'dc1',
    target: { host: 'kube-api.internal', port: 6443, tls: 'tls' },
    credential: { kind: 'encrypted', secretKind: 'bearer_token' },
    allow: { subjects: [], groups: ['sre'] },
    kubernetes: { ca: CA, impersonate: true },
    createdAt: '2026-12-03T09:00:00.000Z',
    updatedAt: '2026-12-03T09:00:00.000Z',
    ...over,
  });
  const base = [
    'create',
    'prod',
    '--protocol',
    'kubernetes',
    '--connector',
    'dc1',
    '--host',
    'kube-api.internal',
  ];
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('reads the token and the CA from files and asks for impersonation', async () => {
    const r = await cli(
      [
        ...base,
        '--token-file',
        file('sa.token', 'eyJtoken.part.sig\n'),
        '--ca-file',
        file('ca.crt', CA),
        '--impersonate',
      ],
      [{ status: 201, body: kubeView() }],
    );
    expect(r.code).toBe(0);
    expect(r.calls[0]!.body).toEqual({
      name: 'prod',
      protocol: 'kubernetes',
      connector: 'dc1',
      target: { host: 'kube-api.internal' },
      credential: { token: 'eyJtoken.part.sig' },
      kubernetes: { impersonate: true, ca: CA },
      allow: { groups: [], subjects: [] },
    });
    expect(r.out).not.toContain('eyJtoken');
    expect(r.out).toContain('prod (kubernetes) via connector dc1');
    expect(r.out).toContain('cluster CA:  1 certificate(s)');
    expect(r.out).toContain('impersonate: yes');
  });

  it('sends a client certificate and key, or a connector reference with its kind', async () => {
    const cert = await cli(
      [
        ...base,
        '--client-cert-file',
        file('c.crt', 'CERT PEM'),
        '--client-key-file',
        file('c.key', 'KEY PEM'),
      ],
      [
        {
          status: 201,
          body: kubeView({ credential: { kind: 'encrypted', secretKind: 'client_certificate' } }),
        },
      ],
    );
    expect(cert.calls[0]!.body!['credential']).toEqual({
      clientCertificate: 'CERT PEM',
      clientKey: 'KEY PEM',
    });
    expect(cert.calls[0]!.body!['kubernetes']).toEqual({ impersonate: false });
    expect(cert.out).not.toContain('KEY PEM');
    const ref = await cli(
      [...base, '--credential-ref', 'file:/etc/kube.pem', '--secret-kind', 'client_certificate'],
      [{ status: 201, body: kubeView() }],
    );
    expect(ref.calls[0]!.body!['credential']).toEqual({
      ref: 'file:/etc/kube.pem',
      secretKind: 'client_certificate',
    });
  });

  it.each([
    [['--password-env', 'P'], /give exactly one of --token-file, --client-cert-file, --credential-ref/],
    [['--token-file', '/x', '--credential-ref', 'env:K'], /give exactly one of/],
    [['--client-cert-file', '/x'], /create needs --client-key-file/],
    [
      ['--credential-ref', 'env:K', '--client-key-file', '/x'],
      /--client-key-file goes with --client-cert-file/,
    ],
    [
      ['--credential-ref', 'env:K', '--secret-kind', 'private_key'],
      /--secret-kind must be one of bearer_token/,
    ],
    [['--credential-ref', 'env:K', '--database', 'd'], /--database is not for Kubernetes/],
  ])('refuses %j before calling the API', async (flags, why) => {
    await expect(cli([...base, ...flags])).rejects.toThrow(why);
  });

  it('refuses kube flags on other protocols', async () => {
    await expect(
      cli([
        'create',
        'db',
        '--connector',
        'c',
        '--host',
        'h',
        '--database',
        'd',
        '--username',
        'u',
        '--credential-ref',
        'env:K',
        '--impersonate',
      ]),
    ).rejects.toThrow(/--impersonate is for Kubernetes connections/);
    await expect(
      cli([
        'create',
        'web',
        '--protocol',
        'ssh',
        '--connector',
        'c',
        '--host',
        'h',
        '--credential-ref',
        'env:K',
        '--ca-file',
        '/x',
      ]),
    ).rejects.toThrow(/--ca-file is for Kubernetes connections/);
  });

  it('shows no CA when the connection has none, and lists as JSON', async () => {
    const r = await cli(
      ['show', 'prod'],
      [{ body: kubeView({ kubernetes: { ca: null, impersonate: false } }) }],
    );
    expect(r.out).toContain("cluster CA:  none: the connector's --ca-file or system roots verify");
    expect(r.out).toContain('impersonate: no');
    const list = await cli(['list', '--json'], [{ body: { connections: [kubeView()] } }]);
    expect(JSON.parse(list.out).connections[0]).toMatchObject({
      protocol: 'kubernetes',
      kubernetes: { impersonate: true },
    });
    const text = await cli(['list'], [{ body: { connections: [kubeView()] } }]);
    expect(text.out).toMatch(/prod\s+kubernetes\s+dc1\s+kube-api\.internal:6443\s+tls\n/);
  });
});
