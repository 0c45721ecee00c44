import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionView } from './connections.ts';
import { cli } from './connections-cli.ts';

let dir: string;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-cli-conn-'));
  keyFile = join(dir, 'id_ecdsa');
  execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ecdsa', '-C', '', '-f', keyFile]);
  writeFileSync(join(dir, 'target.pub'), `${readFileSync(`${keyFile}.pub`, 'utf8')}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

/** `connections create NAME` of an SSH connection through dc1 to host h; a case adds its credential. */
const createSsh = (name: string) => [
  'create',
  name,
  '--protocol',
  'ssh',
  '--connector',
  'dc1',
  '--host',
  'h',
];

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
      [...createSsh('web-2'), '--password-env', 'WEB_PW'],
      [{ status: 201, body: sshView({ name: 'web-2' }) }],
      { WEB_PW: 's3cret' },
    );
    expect(r.calls[0]!.body!['credential']).toEqual({ password: 's3cret' });
    await expect(cli([...createSsh('web-2'), '--password-env', 'NOPE'])).rejects.toThrow(
      /NOPE is empty or unset/,
    );
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

  it('asks for a direct connection with --direct, and refuses it with a connector reference', async () => {
    const flags = ['create', 'cloud', '--connector', 'dc1', '--host', 'db.example.com', '--database', 'd'];
    const r = await cli(
      [...flags, '--username', 'u', '--password-env', 'PW', '--tls', 'postgres-starttls', '--direct'],
      [
        {
          status: 201,
          body: { ...sshView({ name: 'cloud', protocol: 'postgres', reach: 'direct' }), ssh: undefined },
        },
      ],
      { PW: 's3cret' },
    );
    expect(r.calls[0]!.body).toMatchObject({ reach: 'direct', credential: { password: 's3cret' } });
    await expect(
      cli([...flags, '--username', 'u', '--credential-ref', 'env:PW', '--direct']),
    ).rejects.toThrow(/--direct needs --password-env/);
    await expect(
      cli([...createSsh('w'), '--password-env', 'PW', '--direct'], [], {
        PW: 'x',
      }),
    ).rejects.toThrow(/--direct is for Postgres/);
  });

  it('says which field the API refused', async () => {
    const r = cli(
      [...createSsh('web-1'), '--credential-ref', 'env:K', '--tls', 'tls'],
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
