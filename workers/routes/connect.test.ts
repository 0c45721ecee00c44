import { describe, expect, it } from 'vitest';
import { connectionFromHost } from './connect.ts';
import { mayConnect, type CachedConnection } from './connection-cache.ts';

describe('hostname routing', () => {
  it('takes the connection from <connection>.<base domain>', () => {
    expect(connectionFromHost('orders.postern.example.com', 'postern.example.com')).toBe('orders');
    expect(connectionFromHost('Orders.Postern.Example.com:443', 'postern.example.com')).toBe('orders');
  });

  it('ignores other hosts, nested labels and a missing base domain', () => {
    expect(connectionFromHost('postern.example.com', 'postern.example.com')).toBeNull();
    expect(connectionFromHost('a.b.postern.example.com', 'postern.example.com')).toBeNull();
    expect(connectionFromHost('orders.evil.com', 'postern.example.com')).toBeNull();
    expect(connectionFromHost('orders.postern.example.com', undefined)).toBeNull();
  });
});

describe('interim access rule', () => {
  const conn = { allowSubjects: ['ci-bot'], allowGroups: ['dba'] } as CachedConnection;
  it('allows listed subjects or any listed group, nobody else', () => {
    expect(mayConnect(conn, { subject: 'ci-bot', groups: [] })).toBe(true);
    expect(mayConnect(conn, { subject: 'alice', groups: ['dev', 'dba'] })).toBe(true);
    expect(mayConnect(conn, { subject: 'alice', groups: ['dev'] })).toBe(false);
    expect(
      mayConnect({ allowSubjects: [], allowGroups: [] } as unknown as CachedConnection, {
        subject: 'x',
        groups: [],
      }),
    ).toBe(false);
  });
});
