// `postern connections` for Kubernetes targets: token, CA and client-certificate files, impersonation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionView } from './connections.ts';
import { cli } from './connections-cli.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-cli-conn-kube-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
