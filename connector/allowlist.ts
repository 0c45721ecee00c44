/**
 * The connector's LOCAL allowlist: the only targets it will ever dial, whatever the edge asks.
 * Rules: `host:port`, `host:*`, `a.b.c.d/nn:port` (IPv4 CIDR), or `*` (anything, logged loudly).
 * Host names are matched as given: DNS rebinding is out of scope for name rules; CIDR rules match
 * only literal IPv4 targets.
 */
import type { TargetSpec } from '../core/tunnel/protocol.ts';

export type Rule =
  | { kind: 'any' }
  | { kind: 'host'; host: string; port: number | '*' }
  | { kind: 'cidr'; base: number; mask: number; port: number | '*' };

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function parseAllowlist(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === '*') {
      rules.push({ kind: 'any' });
      continue;
    }
    const sep = raw.lastIndexOf(':');
    if (sep <= 0) throw new Error(`allowlist entry "${raw}" must be host:port, host:*, CIDR:port or *`);
    const host = raw.slice(0, sep).toLowerCase();
    const portText = raw.slice(sep + 1);
    const port = portText === '*' ? '*' : Number(portText);
    if (port !== '*' && (!Number.isInteger(port) || port < 1 || port > 65535))
      throw new Error(`allowlist entry "${raw}" has an invalid port`);
    if (host.includes('/')) {
      const [ip, bits] = host.split('/');
      const base = ipv4(ip ?? '');
      const n = Number(bits);
      if (base === null || !Number.isInteger(n) || n < 0 || n > 32)
        throw new Error(`allowlist entry "${raw}" has an invalid CIDR`);
      const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
      rules.push({ kind: 'cidr', base: (base & mask) >>> 0, mask, port });
    } else {
      rules.push({ kind: 'host', host, port });
    }
  }
  return rules;
}

export function isAllowed(rules: Rule[], target: Pick<TargetSpec, 'host' | 'port'>): boolean {
  const host = target.host.toLowerCase();
  const ip = ipv4(host);
  return rules.some((r) => {
    if (r.kind === 'any') return true;
    if (r.port !== '*' && r.port !== target.port) return false;
    if (r.kind === 'host') return r.host === host;
    return ip !== null && (ip & r.mask) >>> 0 === r.base;
  });
}
