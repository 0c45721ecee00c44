import { describe, expect, it } from 'vitest';
import { connectionFromHost } from './connect.ts';

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
