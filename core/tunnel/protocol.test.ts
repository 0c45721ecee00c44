import { describe, expect, it } from 'vitest';
import {
  MAX_RESOLVED_CREDENTIAL_CHARS,
  parseChannelFromConnector,
  parseEdgeToConnector,
  parseTarget,
} from './protocol.ts';

const dial = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'dial',
    sessionId: 'a'.repeat(64),
    channelToken: 'pch_token',
    protocol: 'postgres',
    target: { host: 'db.internal', port: 5432, tls: 'none' },
    ...over,
  });

describe('dial requests (edge -> connector)', () => {
  it('carries the connection protocol, postgres or ssh', () => {
    expect(parseEdgeToConnector(dial()).protocol).toBe('postgres');
    const ssh = parseEdgeToConnector(
      dial({ protocol: 'ssh', target: { host: '10.0.0.5', port: 22, tls: 'none' }, credentialRef: 'env:K' }),
    );
    expect(ssh).toEqual({
      type: 'dial',
      sessionId: 'a'.repeat(64),
      channelToken: 'pch_token',
      protocol: 'ssh',
      target: { host: '10.0.0.5', port: 22, tls: 'none' },
      credentialRef: 'env:K',
    });
  });

  it('refuses a protocol it does not know, or none', () => {
    expect(() => parseEdgeToConnector(dial({ protocol: 'http' }))).toThrow(/unsupported protocol/);
    expect(() => parseEdgeToConnector(dial({ protocol: undefined }))).toThrow(/unsupported protocol/);
    expect(() => parseEdgeToConnector(dial({ protocol: ['ssh'] }))).toThrow(/unsupported protocol/);
  });

  it('carries a Kubernetes dial over TLS only, with the cluster CA when the connection names one', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const target = { host: 'kube.internal', port: 6443, tls: 'tls' };
    expect(parseEdgeToConnector(dial({ protocol: 'kubernetes', target, ca }))).toMatchObject({
      protocol: 'kubernetes',
      target,
      ca,
    });
    expect(() =>
      parseEdgeToConnector(dial({ protocol: 'kubernetes', target: { ...target, tls: 'none' } })),
    ).toThrow(/not a transport for kubernetes/);
    expect(() => parseEdgeToConnector(dial({ protocol: 'kubernetes', target, ca: 'not a pem' }))).toThrow(
      /ca must be PEM/,
    );
    expect(() =>
      parseEdgeToConnector(dial({ protocol: 'kubernetes', target, ca: ca + 'A'.repeat(9000) })),
    ).toThrow(/field ca/);
  });

  it.each(['none', 'tls', 'postgres-starttls'])('takes tls=%s for Postgres', (tls) => {
    expect(parseEdgeToConnector(dial({ target: { host: 'db', port: 5432, tls } })).target.tls).toBe(tls);
  });

  it.each(['tls', 'postgres-starttls'])(
    'refuses tls=%s for SSH (sshd speaks SSH from its first byte)',
    (tls) => {
      expect(() =>
        parseEdgeToConnector(dial({ protocol: 'ssh', target: { host: 'h', port: 22, tls } })),
      ).toThrow(/not a transport for ssh/);
    },
  );

  it.each(['disable', 'verify-full', 'prefer', '', null])(
    'refuses the tls value %j: the wire takes only the normalised names',
    (tls) => {
      expect(() => parseTarget({ host: 'db', port: 5432, tls })).toThrow(/target.tls must be one of/);
    },
  );
});

describe('channel hello (connector -> edge)', () => {
  it('carries a resolved SSH private key, up to the bound', () => {
    const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${'A'.repeat(6000)}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const hello = parseChannelFromConnector(JSON.stringify({ type: 'channel-hello', credential: pem }));
    expect(hello).toEqual({ type: 'channel-hello', credential: pem });
    const huge = 'x'.repeat(MAX_RESOLVED_CREDENTIAL_CHARS + 1);
    expect(() =>
      parseChannelFromConnector(JSON.stringify({ type: 'channel-hello', credential: huge })),
    ).toThrow(/credential must be a string/);
  });
});
