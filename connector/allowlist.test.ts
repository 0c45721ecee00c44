import { describe, expect, it } from 'vitest';
import { isAllowed, parseAllowlist } from './allowlist.ts';

describe('connector allowlist', () => {
  it('allows only listed host:port pairs', () => {
    const rules = parseAllowlist('db.internal:5432, 127.0.0.1:*');
    expect(isAllowed(rules, { host: 'db.internal', port: 5432 })).toBe(true);
    expect(isAllowed(rules, { host: 'DB.internal', port: 5432 })).toBe(true);
    expect(isAllowed(rules, { host: 'db.internal', port: 5433 })).toBe(false);
    expect(isAllowed(rules, { host: '127.0.0.1', port: 1 })).toBe(true);
    expect(isAllowed(rules, { host: 'evil.example', port: 5432 })).toBe(false);
  });

  it('matches IPv4 CIDR rules against literal IPs only', () => {
    const rules = parseAllowlist('10.1.0.0/16:5432');
    expect(isAllowed(rules, { host: '10.1.200.3', port: 5432 })).toBe(true);
    expect(isAllowed(rules, { host: '10.2.0.1', port: 5432 })).toBe(false);
    expect(isAllowed(rules, { host: 'ten.one.internal', port: 5432 })).toBe(false);
  });

  it('denies everything when empty and allows everything only with an explicit *', () => {
    expect(isAllowed(parseAllowlist(''), { host: '127.0.0.1', port: 5432 })).toBe(false);
    expect(isAllowed(parseAllowlist('*'), { host: 'anything', port: 1 })).toBe(true);
  });

  it('rejects malformed entries with a message naming them', () => {
    expect(() => parseAllowlist('db.internal')).toThrow(/db.internal/);
    expect(() => parseAllowlist('db:99999')).toThrow(/invalid port/);
    expect(() => parseAllowlist('10.0.0.0/40:5432')).toThrow(/CIDR/);
  });
});
