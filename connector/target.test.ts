import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { openTarget } from './target.ts';

// A stand-in for a TLS-enabled Postgres: answers SSLRequest with 'S' (or 'N'), then speaks TLS
// with a certificate for 127.0.0.1 signed by a throwaway CA made here with openssl.
let dir: string;
const servers: Server[] = [];

function sh(args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-tls-'));
  sh([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  ]);
  sh([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other.pem',
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
  ]);
  sh([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'srv.key',
    '-out',
    'srv.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  sh([
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);
});

afterAll(() => {
  for (const s of servers) s.close();
});

async function fakePostgres(answer: 'S' | 'N'): Promise<number> {
  const server = createServer((raw: Socket) => {
    raw.once('data', (req) => {
      expect(req.readInt32BE(4)).toBe(80877103);
      raw.write(answer);
      if (answer === 'N') return;
      const tls = new TLSSocket(raw, {
        isServer: true,
        key: readFileSync(join(dir, 'srv.key')),
        cert: readFileSync(join(dir, 'srv.pem')),
      });
      tls.on('data', (d) => tls.write(Buffer.concat([Buffer.from('echo:'), d])));
      tls.on('error', () => undefined);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('connector TLS to targets (tls=verify-full)', () => {
  it('negotiates TLS after SSLRequest and verifies the server against the CA', async () => {
    const port = await fakePostgres('S');
    const s = await openTarget(
      { host: '127.0.0.1', port, tls: 'verify-full' },
      { caFile: join(dir, 'ca.pem'), connectTimeoutMs: 5000 },
    );
    const reply = await new Promise<string>((resolve) => {
      s.once('data', (d: Buffer) => resolve(d.toString()));
      s.write('hello');
    });
    expect(reply).toBe('echo:hello');
    s.destroy();
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const port = await fakePostgres('S');
    await expect(
      openTarget(
        { host: '127.0.0.1', port, tls: 'verify-full' },
        { caFile: join(dir, 'other.pem'), connectTimeoutMs: 5000 },
      ),
    ).rejects.toMatchObject({
      reason: 'tls-failed',
    });
  });

  it('refuses to fall back to plain text when the server has no TLS', async () => {
    const port = await fakePostgres('N');
    await expect(
      openTarget(
        { host: '127.0.0.1', port, tls: 'verify-full' },
        { caFile: join(dir, 'ca.pem'), connectTimeoutMs: 5000 },
      ),
    ).rejects.toThrow(/does not offer TLS/);
  });

  it('reports an unreachable target', async () => {
    await expect(
      openTarget({ host: '127.0.0.1', port: 1, tls: 'disable' }, { connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({ reason: 'unreachable' });
  });
});
