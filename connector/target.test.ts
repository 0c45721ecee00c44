import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
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
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A direct-TLS server (PG17 `sslnegotiation=direct`): TLS from the first byte (an SSLRequest
 * first would fail its handshake); echoes with the ALPN protocol it agreed.
 */
async function directTlsServer(alpn: string[] | undefined): Promise<{ port: number }> {
  const server = createTlsServer(
    {
      key: readFileSync(join(dir, 'srv.key')),
      cert: readFileSync(join(dir, 'srv.pem')),
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    },
    (tls) => {
      tls.on('data', (d) =>
        tls.write(Buffer.concat([Buffer.from(`echo(${tls.alpnProtocol || 'none'}):`), d])),
      );
      tls.on('error', () => undefined);
    },
  );
  server.on('tlsClientError', () => undefined);
  servers.push(server as unknown as Server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port };
}

/** A plain server that records the first bytes it gets and echoes. */
async function plainServer(): Promise<{ port: number; firstBytes: Buffer[] }> {
  const firstBytes: Buffer[] = [];
  const server = createServer((raw: Socket) => {
    raw.on('data', (d: Buffer) => {
      firstBytes.push(d);
      raw.write(Buffer.concat([Buffer.from('echo:'), d]));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, firstBytes };
}

const exchange = (s: Duplex, text: string) =>
  new Promise<string>((resolve) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.write(text);
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

describe('connector TLS to targets (tls=postgres-starttls)', () => {
  it('negotiates TLS after SSLRequest and verifies the server against the CA', async () => {
    const port = await fakePostgres('S');
    const s = await openTarget(
      { host: '127.0.0.1', port, tls: 'postgres-starttls' },
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
        { host: '127.0.0.1', port, tls: 'postgres-starttls' },
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
        { host: '127.0.0.1', port, tls: 'postgres-starttls' },
        { caFile: join(dir, 'ca.pem'), connectTimeoutMs: 5000 },
      ),
    ).rejects.toThrow(/does not offer TLS/);
  });

  it('reports an unreachable target', async () => {
    await expect(
      openTarget({ host: '127.0.0.1', port: 1, tls: 'none' }, { connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({ reason: 'unreachable' });
  });
});

describe('the transports a connection names', () => {
  it('tls=none pipes bytes as they are: no SSLRequest before an SSH target sees its first byte', async () => {
    const srv = await plainServer();
    const s = await openTarget(
      { host: '127.0.0.1', port: srv.port, tls: 'none' },
      { protocol: 'ssh', connectTimeoutMs: 5000 },
    );
    expect(await exchange(s, 'SSH-2.0-OpenSSH_9.2\r\n')).toBe('echo:SSH-2.0-OpenSSH_9.2\r\n');
    expect(Buffer.concat(srv.firstBytes).toString()).toBe('SSH-2.0-OpenSSH_9.2\r\n');
    s.destroy();
  });

  it('tls=tls speaks TLS from the first byte, with ALPN "postgresql" for Postgres (PG17 direct TLS)', async () => {
    const srv = await directTlsServer(['postgresql']);
    const s = await openTarget(
      { host: '127.0.0.1', port: srv.port, tls: 'tls' },
      { protocol: 'postgres', caFile: join(dir, 'ca.pem'), connectTimeoutMs: 5000 },
    );
    expect(await exchange(s, 'hello')).toBe('echo(postgresql):hello');
    s.destroy();
  });

  it('tls=tls verifies the certificate against the CA', async () => {
    const srv = await directTlsServer(undefined);
    await expect(
      openTarget(
        { host: '127.0.0.1', port: srv.port, tls: 'tls' },
        { protocol: 'postgres', caFile: join(dir, 'other.pem'), connectTimeoutMs: 5000 },
      ),
    ).rejects.toMatchObject({ reason: 'tls-failed' });
  });
});
