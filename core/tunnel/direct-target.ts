/**
 * Which targets the edge may dial itself (a connection with `reach: 'direct'`, issue 13): the
 * SessionDO opens the TCP connection with `cloudflare:sockets` instead of asking a connector.
 * The edge runs inside Cloudflare's network, so a direct target an admin could point anywhere
 * must not become a way into addresses that are not the public internet (SSRF): loopback,
 * private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and the
 * names that mean "this host". Decided on the literal the socket will be given; a host NAME that
 * resolves to a private address is refused by Cloudflare's own `connect()` rules, not here
 * (docs/security.md "Direct targets"). Pure: no DNS, no clock.
 */
import type { ConnectionProtocol, TargetSpec } from './protocol.ts';

/** How the edge reaches a connection's target. */
export const TARGET_REACHES = ['connector', 'direct'] as const;
export type TargetReach = (typeof TARGET_REACHES)[number];

export interface DirectTargetRules {
  /** Local development only (env ALLOW_PRIVATE_DIRECT_TARGETS=1): loopback/private and plain TCP allowed. */
  allowPrivate: boolean;
}

export interface DirectConnectionShape {
  protocol: ConnectionProtocol;
  target: TargetSpec;
  credentialKind: 'encrypted' | 'connector_ref';
}

/**
 * Why this connection cannot be reached directly, or undefined when it can. Every reason is for
 * an admin (the API answers it) and carries no secret.
 */
export function directConnectionRefusal(
  c: DirectConnectionShape,
  rules: DirectTargetRules,
): string | undefined {
  if (c.protocol !== 'postgres') return 'reach "direct" is for Postgres connections only';
  // The credential must stay sealed at the edge: there is no connector to resolve a reference.
  if (c.credentialKind === 'connector_ref')
    return 'reach "direct" needs a credential stored sealed at the edge (--password-stdin), not a connector reference';
  // workerd's sockets cannot set ALPN, which PG17's direct TLS requires (protocol §55.2.10).
  if (c.target.tls === 'tls')
    return 'reach "direct" speaks TLS after SSLRequest: use tls "postgres-starttls" (direct TLS needs ALPN, which the edge cannot set)';
  if (c.target.tls === 'none' && !rules.allowPrivate)
    return 'reach "direct" needs TLS (tls "postgres-starttls"); plain TCP is for local development only';
  return directHostRefusal(c.target.host, rules);
}

/** Why `host` may not be dialled from the edge, or undefined. */
export function directHostRefusal(host: string, rules: DirectTargetRules): string | undefined {
  if (rules.allowPrivate) return undefined;
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal'))
    return `target host ${host} is not a public address`;
  const v4 = ipv4(h);
  if (v4) return privateV4(v4) ? `target address ${host} is not a public address` : undefined;
  if (h.includes(':')) {
    const v6 = ipv6(h.replace(/^\[|\]$/g, ''));
    if (!v6 || privateV6(v6)) return `target address ${host} is not a public address`;
  }
  // A bare number or hex ("2130706433", "0x7f000001") is an address to some resolvers.
  if (/^(0x[0-9a-f]+|\d+)$/.test(h) || /^[0-9.]+$/.test(h))
    return `target host ${host} is not a dotted IPv4 address or a name`;
  return undefined;
}

function ipv4(h: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  // Leading zeros are octal to inet_aton: refuse the ambiguity rather than guess.
  if (parts.some((p) => p > 255) || m.slice(1).some((p) => p.length > 1 && p.startsWith('0')))
    return [127, 0, 0, 1]; // treated as private: refused
  return parts;
}

function privateV4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) || // carrier-grade NAT (RFC 6598)
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments (RFC 6890)
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a! >= 224 // multicast, reserved, broadcast
  );
}

/** Eight 16-bit groups, or undefined when `h` is not an IPv6 literal. */
function ipv6(h: string): number[] | undefined {
  const zone = h.indexOf('%');
  let s = zone >= 0 ? h.slice(0, zone) : h;
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups written another way.
  const dotted = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (dotted) {
    const v4 = ipv4(dotted[1]!);
    if (!v4) return undefined;
    const hex = (n: number) => n.toString(16);
    s = `${s.slice(0, -dotted[1]!.length)}${hex((v4[0]! << 8) | v4[1]!)}:${hex((v4[2]! << 8) | v4[3]!)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (p: string) => (p === '' ? [] : p.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (![...head, ...rest].every((w) => /^[0-9a-f]{1,4}$/.test(w))) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const num = (w: string) => parseInt(w, 16);
  return [
    ...head.map(num),
    ...new Array<number>(halves.length === 2 ? missing : 0).fill(0),
    ...rest.map(num),
  ];
}

function privateV6(g: number[]): boolean {
  const [a] = g;
  if (g.slice(0, 7).every((x) => x === 0) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible: judged as the IPv4 address they carry.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return privateV4([g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff]);
  }
  if (a === 0x64 && g[1] === 0xff9b) return true; // NAT64 (RFC 6052): reaches IPv4 inside
  return (
    (a! & 0xfe00) === 0xfc00 || // unique local
    (a! & 0xffc0) === 0xfe80 || // link-local
    (a! & 0xff00) === 0xff00 || // multicast
    a === 0x2002 || // 6to4 carries an IPv4 address
    (a === 0x2001 && g[1] === 0x0db8) // documentation
  );
}
