import { describe, expect, it } from 'vitest';
import { directConnectionRefusal, directHostRefusal } from './direct-target.ts';

const PROD = { allowPrivate: false };
const DEV = { allowPrivate: true };

describe('directHostRefusal: the edge dials only public addresses', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.7',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254', // cloud metadata
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    'localhost',
    'LOCALHOST.',
    'db.localhost',
    'metadata.google.internal',
    'printer.local',
    '::1',
    '[::1]',
    '::',
    'fd00::1',
    'fe80::1%eth0',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2130706433', // 127.0.0.1 as one number
    '0x7f000001',
    '0177.0.0.1', // octal to inet_aton
    '127.1', // short form
    '1:2:3:4:5:6:7:8:9', // not an address at all
    // Numeric spellings inet_aton/getaddrinfo and URL parsers read as 127.0.0.1.
    '0x7f.1',
    '0x7f.0.0.1',
    '0X7F.0.0.1',
    '127.0x0.0.1',
    '127.0.1',
    '017700000001',
    '0x7f',
    '1.2.3.0x4',
    '10.0.0.1.', // trailing dot: same address
    // Empty labels, extra dots, ports and brackets around what is not IPv6.
    'localhost..',
    '.localhost',
    'db..localhost',
    '[::1]:5432',
    '[::1',
    '[127.0.0.1]',
    '127.0.0.1:5432',
    'db.example.com:5432',
    // Non-ASCII (IDN/fullwidth) spellings a resolver may fold into "localhost".
    'ｌｏｃａｌｈｏｓｔ',
    'localhost。',
    // IPv6 ranges that are not global unicast, or embed an IPv4 address.
    '::ffff:0:127.0.0.1', // SIIT IPv4-translated
    '::127.0.0.1', // IPv4-compatible
    '::8.8.8.8', // IPv4-compatible, deprecated
    '64:ff9b:1::a00:1', // local-use NAT64 (RFC 8215)
    '100::1', // discard-only
    'fec0::1', // site-local
    '2001:0:a00:1::1', // Teredo
    '2001:db8::1', // documentation
    '[2606:4700::1111%25eth0]', // zone id on a public address
    '2606:4700::1111%eth0',
    '::ffff:169.254.169.254',
    '[::ffff:a9fe:a9fe]',
  ])('refuses %s', (host) => {
    expect(directHostRefusal(host, PROD)).toBeDefined();
  });

  it.each([
    'db.example.com',
    'DB.Example.COM.',
    'xn--bcher-kva.example',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '[2606:4700::1111]',
    '::ffff:8.8.8.8',
    'db-1.eu_west.example.com',
    '1.example.com', // a numeric label that is not the last is a name
  ])('allows %s', (host) => {
    expect(directHostRefusal(host, PROD)).toBeUndefined();
  });

  it('allows anything under the local development flag', () => {
    expect(directHostRefusal('127.0.0.1', DEV)).toBeUndefined();
  });
});

describe('directConnectionRefusal', () => {
  const ok = {
    protocol: 'postgres' as const,
    target: { host: 'db.example.com', port: 5432, tls: 'postgres-starttls' as const },
    credentialKind: 'encrypted' as const,
  };

  it('allows a public Postgres target with TLS after SSLRequest and a sealed credential', () => {
    expect(directConnectionRefusal(ok, PROD)).toBeUndefined();
  });

  it('refuses a connector-resolved credential, even in development', () => {
    expect(directConnectionRefusal({ ...ok, credentialKind: 'connector_ref' }, DEV)).toMatch(/sealed/);
  });

  it('refuses other protocols', () => {
    expect(directConnectionRefusal({ ...ok, protocol: 'ssh' }, DEV)).toMatch(/Postgres/);
    expect(directConnectionRefusal({ ...ok, protocol: 'kubernetes' }, DEV)).toMatch(/Postgres/);
  });

  it('refuses direct TLS (no ALPN from the edge) and plain TCP outside development', () => {
    expect(directConnectionRefusal({ ...ok, target: { ...ok.target, tls: 'tls' } }, DEV)).toMatch(/ALPN/);
    expect(directConnectionRefusal({ ...ok, target: { ...ok.target, tls: 'none' } }, PROD)).toMatch(
      /plain TCP/,
    );
    expect(directConnectionRefusal({ ...ok, target: { ...ok.target, tls: 'none' } }, DEV)).toBeUndefined();
  });

  it('refuses a private target address', () => {
    expect(directConnectionRefusal({ ...ok, target: { ...ok.target, host: '10.1.1.1' } }, PROD)).toMatch(
      /not a public address/,
    );
  });
});
