/**
 * SSH connections in the admin API over a real control-plane Postgres (issue 11 §3): write-only
 * keys sealed in the row, the gateway host key made at creation, target host key pins, and the
 * transport names every connection now uses. Keys are made by the real ssh-keygen, and the
 * sealed gateway key is read back by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptCredential, parseKeyring } from '../../core/crypto/credentials.ts';
import { openGatewayHostKey } from '../../core/ssh/gateway-host-key.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { learnTargetHostKey } from '../../edge/db/connections-repo.ts';
import { lookupConnection } from '../../workers/routes/connection-cache.ts';
import { connectionBody, useApiHarness, withConnector, type SshConnectionRow } from './api-harness.ts';

const h = useApiHarness({ each: withConnector });
let dir: string;
let n = 0;
/** A key pair made by ssh-keygen: the private key text and the .pub line. */
function keygen(...args: string[]): { privateKey: string; pub: string; file: string } {
  const file = join(dir, `k${n++}`);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', 'admin@laptop', '-f', file, ...args]);
  return { privateKey: readFileSync(file, 'utf8'), pub: readFileSync(`${file}.pub`, 'utf8').trim(), file };
}
const bare = (line: string) => line.split(' ').slice(0, 2).join(' ');

let clientKey: ReturnType<typeof keygen>;
let targetKey: ReturnType<typeof keygen>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-ssh-api-'));
  clientKey = keygen('-t', 'ecdsa');
  targetKey = keygen('-t', 'ecdsa', '-b', '384');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sshBody = (over: Record<string, unknown> = {}) => ({
  name: 'web-1',
  protocol: 'ssh',
  connector: 'dc1',
  target: { host: '10.0.0.7' },
  credential: { privateKey: clientKey.privateKey },
  allow: { groups: ['ops'] },
  ...over,
});

const row = async (name: string) =>
  (await h.cp.sql<SshConnectionRow>('SELECT * FROM connections WHERE name = $1', [name]))[0]!;

describe('creating an SSH connection', () => {
  it('seals the private key and a new gateway host key in the row, and shows only public keys', async () => {
    const res = await h.call('POST', '/connections', sshBody());
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cn_/),
      name: 'web-1',
      protocol: 'ssh',
      connector: 'dc1',
      target: { host: '10.0.0.7', port: 22, tls: 'none' },
      reach: 'connector',
      credential: { kind: 'encrypted', secretKind: 'private_key' },
      allow: { subjects: [], groups: ['ops'] },
      masking: { columns: [], detectors: {} },
      ssh: {
        hostKeys: [
          expect.stringMatching(/^ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY/),
        ],
        targetHostKey: null,
        targetHostKeyLearnedAt: null,
      },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const stored = await row('web-1');
    expect(stored).toMatchObject({ protocol: 'ssh', target_tls: 'none', database: null, username: null });
    expect(stored.credential_secret_kind).toBe('private_key');
    const ring = await parseKeyring(h.env.CREDENTIAL_KEYS);
    const sealedKey = { keyId: stored.credential_key_id, ciphertext: stored.credential_ciphertext };
    expect(await decryptCredential(ring, sealedKey, stored.id)).toBe(clientKey.privateKey);
    expect(stored.credential_ciphertext).not.toContain('PRIVATE');

    // The gateway's private key opens under its own AAD, and the real ssh-keygen derives from it
    // exactly the public line the API shows.
    const sealedHost = { keyId: stored.ssh_host_key_key_id, ciphertext: stored.ssh_host_key_ciphertext };
    const hostPem = await openGatewayHostKey(ring, sealedHost, stored.id);
    writeFileSync(join(dir, 'gw.pem'), hostPem, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'gw.pem')], {
      encoding: 'utf8',
    }).trim();
    expect(res.body.ssh.hostKeys).toEqual([derived]);
    expect(stored.ssh_host_public_keys).toEqual([derived]);
    await expect(decryptCredential(ring, sealedHost, stored.id)).rejects.toMatchObject({
      code: 'CRYPTO_FAILED',
    });
  });

  it('gives every connection its own gateway host key', async () => {
    const a = await h.call('POST', '/connections', sshBody());
    const b = await h.call('POST', '/connections', sshBody({ name: 'web-2' }));
    expect(a.body.ssh.hostKeys[0]).not.toBe(b.body.ssh.hostKeys[0]);
  });

  it('pins a target host key given as an OpenSSH line, stored without its comment', async () => {
    const res = await h.call('POST', '/connections', sshBody({ ssh: { targetHostKey: targetKey.pub } }));
    expect(res.status).toBe(201);
    expect(res.body.ssh.targetHostKey).toBe(bare(targetKey.pub));
    expect((await row('web-1')).ssh_target_host_key).toBe(bare(targetKey.pub));
  });

  it('takes a password or a connector ref, saying which kind of secret it is', async () => {
    const pw = await h.call('POST', '/connections', sshBody({ credential: { password: 'tr0ub4dor' } }));
    expect(pw.body.credential).toEqual({ kind: 'encrypted', secretKind: 'password' });
    const ref = await h.call(
      'POST',
      '/connections',
      sshBody({ name: 'web-2', credential: { ref: 'file:/etc/postern/key' } }),
    );
    expect(ref.body.credential).toEqual({
      kind: 'connector_ref',
      ref: 'file:/etc/postern/key',
      secretKind: 'private_key',
    });
    const refPw = await h.call(
      'POST',
      '/connections',
      sshBody({ name: 'web-3', credential: { ref: 'env:WEB_PW', secretKind: 'password' } }),
    );
    expect(refPw.body.credential).toEqual({
      kind: 'connector_ref',
      ref: 'env:WEB_PW',
      secretKind: 'password',
    });
  });

  it('hands the session what it needs: protocol, secret kind, sealed host key, pin', async () => {
    await h.call('POST', '/connections', sshBody({ ssh: { targetHostKey: targetKey.pub } }));
    const cached = await lookupConnection(h.env, 'web-1', Date.now());
    const stored = await row('web-1');
    expect(cached!.connection).toMatchObject({
      protocol: 'ssh',
      target: { host: '10.0.0.7', port: 22, tls: 'none' },
      credential: { kind: 'encrypted', secretKind: 'private_key' },
      ssh: {
        hostKey: { keyId: stored.ssh_host_key_key_id, ciphertext: stored.ssh_host_key_ciphertext },
        targetHostKey: bare(targetKey.pub),
      },
    });
  });

  it("an admin's change reaches the next session at once, not after the connection cache's TTL", async () => {
    await h.call('POST', '/connections', sshBody({ ssh: { targetHostKey: targetKey.pub } }));
    const lookup = () => lookupConnection(h.env, 'web-1', Date.now());
    expect((await lookup())!.connection.ssh?.targetHostKey).toBe(bare(targetKey.pub));
    // Cached now: the pin cleared, then the policy changed, then a global policy added.
    expect((await h.call('PATCH', '/connections/web-1', { ssh: { targetHostKey: null } })).status).toBe(200);
    expect((await lookup())!.connection.ssh?.targetHostKey).toBeNull();
    const before = (await lookup())!.policies.key;
    const put = await h.call('PUT', '/connections/web-1/policies/rules', {
      text: 'permit(principal, action == Postern::Action::"ssh:login", resource);',
    });
    expect(put.status).toBeLessThan(300);
    const afterRules = (await lookup())!.policies;
    expect(afterRules.key).not.toBe(before);
    expect(afterRules.docs.map((d) => d.id)).toContain('connection/web-1/rules');
    const global = await h.call('PUT', '/policies/base', {
      text: 'forbid(principal, action == Postern::Action::"ssh:x11_forward", resource);',
    });
    expect(global.status).toBeLessThan(300);
    expect((await lookup())!.policies.docs.map((d) => d.id)).toContain('global/base');
    // Deleted: the next session finds no connection.
    expect((await h.call('DELETE', '/connections/web-1')).status).toBe(204);
    expect(await lookup()).toBeNull();
  });
});

describe('SSH connection input', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['tls=tls', { target: { host: 'h', tls: 'tls' } }, 'target.tls', /SSH connections take tls "none"/],
    [
      'tls=postgres-starttls',
      { target: { host: 'h', tls: 'postgres-starttls' } },
      'target.tls',
      /SSH encrypts itself/,
    ],
    [
      'tls=verify-full',
      { target: { host: 'h', tls: 'verify-full' } },
      'target.tls',
      /SSH connections take tls "none"/,
    ],
    ['a database', { database: 'orders' }, 'database', /Unrecognized key/],
    ['a username', { username: 'root' }, 'username', /Unrecognized key/],
    ['an unknown protocol', { protocol: 'telnet' }, 'protocol', /Invalid discriminator/],
    [
      'an empty private key',
      { credential: { privateKey: '' } },
      'credential.privateKey',
      /expected a PEM private key/,
    ],
    [
      'not a key',
      { credential: { privateKey: 'hunter2-not-a-key' } },
      'credential.privateKey',
      /expected a PEM private key/,
    ],
    [
      'an Ed25519 target host key',
      { ssh: { targetHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE' } },
      'ssh.targetHostKey',
      /ssh-ed25519 host keys cannot be pinned/,
    ],
    [
      'a garbled target host key',
      { ssh: { targetHostKey: 'ecdsa-sha2-nistp256 AAAA' } },
      'ssh.targetHostKey',
      /ends inside/,
    ],
  ];

  it.each(cases)('refuses %s with 400 naming the field and why', async (_what, over, field, why) => {
    const res = await h.call('POST', '/connections', sshBody(over));
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toMatch(why);
    expect(await h.cp.sql('SELECT id FROM connections')).toHaveLength(0);
  });

  it('refuses keys the gateway cannot sign with, without echoing them', async () => {
    const ed = keygen('-t', 'ed25519');
    const enc = keygen('-t', 'ecdsa');
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'pass phrase', '-P', '', '-f', enc.file]);
    for (const [key, why] of [
      [ed.privateKey, /Ed25519 keys cannot be used/],
      [readFileSync(enc.file, 'utf8'), /passphrase/],
    ] as const) {
      const res = await h.call('POST', '/connections', sshBody({ credential: { privateKey: key } }));
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('credential.privateKey');
      expect(res.body.error.message).toMatch(why);
      expect(res.text).not.toContain(key.split('\n')[1]!.slice(0, 30));
    }
  });
});

describe('changing an SSH connection', () => {
  it('sets, replaces and clears the target host key pin', async () => {
    await h.call('POST', '/connections', sshBody());
    const set = await h.call('PATCH', '/connections/web-1', { ssh: { targetHostKey: targetKey.pub } });
    expect(set.status).toBe(200);
    expect(set.body.ssh).toMatchObject({ targetHostKey: bare(targetKey.pub), targetHostKeyLearnedAt: null });
    const cleared = await h.call('PATCH', '/connections/web-1', { ssh: { targetHostKey: null } });
    expect(cleared.body.ssh).toMatchObject({ targetHostKey: null, targetHostKeyLearnedAt: null });
    expect((await row('web-1')).ssh_target_host_key).toBeNull();
    // The gateway host key is the connection's for life: a PATCH does not change it.
    expect(cleared.body.ssh.hostKeys).toEqual(set.body.ssh.hostKeys);
  });

  it('swaps the private key for a password and keeps the host key', async () => {
    const created = await h.call('POST', '/connections', sshBody());
    const res = await h.call('PATCH', '/connections/web-1', { credential: { password: 'n3w-pass' } });
    expect(res.body.credential).toEqual({ kind: 'encrypted', secretKind: 'password' });
    expect(res.body.ssh.hostKeys).toEqual(created.body.ssh.hostKeys);
    const stored = await row('web-1');
    const ring = await parseKeyring(h.env.CREDENTIAL_KEYS);
    expect(
      await decryptCredential(
        ring,
        { keyId: stored.credential_key_id, ciphertext: stored.credential_ciphertext },
        stored.id,
      ),
    ).toBe('n3w-pass');
  });

  it('refuses fields the protocol has no use for', async () => {
    await h.call('POST', '/connections', sshBody());
    await h.call('POST', '/connections', connectionBody({ name: 'orders-db' }));
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['web-1', { database: 'x' }, 'database'],
      ['web-1', { username: 'root' }, 'username'],
      ['web-1', { target: { tls: 'tls' } }, 'target.tls'],
      ['orders-db', { ssh: { targetHostKey: null } }, 'ssh'],
      ['orders-db', { credential: { privateKey: clientKey.privateKey } }, 'credential.privateKey'],
      ['orders-db', { credential: { ref: 'env:K', secretKind: 'private_key' } }, 'credential.secretKind'],
      ['web-1', { protocol: 'postgres' }, 'protocol'],
    ];
    for (const [name, patch, field] of cases) {
      const res = await h.call('PATCH', `/connections/${name}`, patch);
      expect(res.status, JSON.stringify(patch)).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    expect((await row('web-1')).target_tls).toBe('none');
  });
});

describe('transport names for every connection', () => {
  it('defaults a Postgres connection to tls=none and lists it beside SSH ones', async () => {
    const body = connectionBody();
    delete (body['target'] as Record<string, unknown>)['tls'];
    delete body['protocol'];
    expect((await h.call('POST', '/connections', body)).body).toMatchObject({
      protocol: 'postgres',
      target: { tls: 'none' },
      database: 'orders',
    });
    await h.call('POST', '/connections', sshBody());
    const list = await h.call('GET', '/connections');
    expect(
      list.body.connections.map((c: { name: string; protocol: string }) => [c.name, c.protocol]),
    ).toEqual([
      ['orders-db', 'postgres'],
      ['web-1', 'ssh'],
    ]);
    expect(list.body.connections[0]).not.toHaveProperty('ssh');
  });
});

describe('learning a target host key (trust on first use)', () => {
  const learn = (id: string, key: string) => withControlPlane(h.env, (db) => learnTargetHostKey(db, id, key));

  it('records the first key it sees, then tells a match from a mismatch', async () => {
    const id = (await h.call('POST', '/connections', sshBody())).body.id;
    expect(await learn(id, targetKey.pub)).toBe('learned');
    const stored = await row('web-1');
    expect(stored.ssh_target_host_key).toBe(bare(targetKey.pub));
    expect(stored.ssh_target_host_key_learned_at).toBeInstanceOf(Date);
    expect((await h.call('GET', '/connections/web-1')).body.ssh.targetHostKeyLearnedAt).toEqual(
      expect.any(String),
    );
    expect(await learn(id, `${bare(targetKey.pub)} another-comment`)).toBe('matches');
    expect(await learn(id, keygen('-t', 'ecdsa', '-b', '384').pub)).toBe('mismatch');
    expect((await row('web-1')).ssh_target_host_key).toBe(bare(targetKey.pub));
  });

  it('lets exactly one of two racing first sessions pin its key', async () => {
    const id = (await h.call('POST', '/connections', sshBody())).body.id;
    const other = keygen('-t', 'ecdsa').pub;
    const results = await Promise.all([learn(id, targetKey.pub), learn(id, other)]);
    expect(results.sort()).toEqual(['learned', 'mismatch']);
  });

  it('never overwrites a pin an admin set, and learns again once it is cleared', async () => {
    const id = (await h.call('POST', '/connections', sshBody({ ssh: { targetHostKey: targetKey.pub } }))).body
      .id;
    const other = keygen('-t', 'ecdsa').pub;
    expect(await learn(id, other)).toBe('mismatch');
    await h.call('PATCH', '/connections/web-1', { ssh: { targetHostKey: null } });
    expect(await learn(id, other)).toBe('learned');
  });

  it('fails closed for a garbled key, a Postgres connection and a missing one', async () => {
    const id = (await h.call('POST', '/connections', sshBody())).body.id;
    expect(await learn(id, 'ecdsa-sha2-nistp256 AAAA')).toBe('mismatch');
    expect((await row('web-1')).ssh_target_host_key).toBeNull();
    const pgId = (await h.call('POST', '/connections', connectionBody())).body.id;
    expect(await learn(pgId, targetKey.pub)).toBe('mismatch');
    expect(await learn('cn_gone', targetKey.pub)).toBe('mismatch');
  });
});

describe('secrets in responses', () => {
  it('never returns a private key, a sealed host key or key ids', async () => {
    const from = h.bodies.length;
    await h.call('POST', '/connections', sshBody());
    await h.call('POST', '/connections', sshBody({ name: 'web-2', credential: { password: 'pw-web-2' } }));
    await h.call('PATCH', '/connections/web-2', { credential: { privateKey: clientKey.privateKey } });
    await h.call('GET', '/connections');
    await h.call('GET', '/connections/web-1');
    await h.call('POST', '/connections', sshBody()); // 409
    const rows = await h.cp.sql<SshConnectionRow>('SELECT * FROM connections');
    // Every base64 line of the private key, and the password.
    const secrets = [
      ...clientKey.privateKey.split('\n').filter((l) => l && !l.startsWith('-----')),
      'pw-web-2',
    ];
    for (const r of rows)
      secrets.push(r.credential_ciphertext, r.ssh_host_key_ciphertext, `"${r.ssh_host_key_key_id}"`);
    const everything = h.bodies.slice(from).join('\n');
    expect(everything).toContain('"hostKeys"');
    for (const s of secrets) expect(everything).not.toContain(s);
    expect(everything).not.toMatch(/PRIVATE KEY|ciphertext|keyId|key_id/i);
  });
});
