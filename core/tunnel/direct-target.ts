/**
 * Which targets the edge may dial itself (a connection with `reach: 'direct'`, issue 13): the
 * SessionDO opens the TCP connection with `cloudflare:sockets` instead of asking a connector.
 * The edge runs inside Cloudflare's network, so a direct target an admin could point anywhere
 * must not become a way into addresses that are not the public internet (SSRF): loopback,
 * private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and the
 * names that mean "this host". Decided on the literal the socket will be given. A host NAME that
 * resolves to a private address is NOT caught here (a Worker cannot resolve before `connect()`;
 * docs/security.md §16 says so): that is why the rule is admin-only. Pure: no DNS, no clock.
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
  const notPublic = `target address ${host} is not a public address`;
  let h = host.toLowerCase();
  const bracketed = h.startsWith('[') || h.endsWith(']');
  if (bracketed) {
    if (!(h.startsWith('[') && h.endsWith(']'))) return notPublic; // "[::1]:5432", "[::1"
    h = h.slice(1, -1);
    if (!h.includes(':')) return notPublic; // "[127.0.0.1]": brackets are for IPv6 only
  }
  if (h.includes(':')) {
    // A zone id only means something on a link-local address, which is refused anyway.
    if (h.includes('%')) return notPublic;
    const v6 = ipv6(h);
    return !v6 || privateV6(v6) ? notPublic : undefined;
  }
  // One trailing dot is the DNS root (same name); anything else empty is not a name.
  const labels = h.replace(/\.$/, '').split('.');
  if (!labels.every((l) => /^[a-z0-9_-]{1,63}$/.test(l)))
    return `target host ${host} is not a dotted IPv4 address or a name`;
  const name = labels.join('.');
  if (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name.endsWith('.local') ||
    name.endsWith('.internal')
  )
    return `target host ${host} is not a public address`;
  // A name whose last label is a number is an IPv4 address to inet_aton/getaddrinfo and to URL
  // parsers ("0x7f.1", "127.1", "2130706433", "1.2.3.0x4"): only the strict dotted quad is
  // judged as an address; every other numeric spelling is refused rather than interpreted.
  if (/^(0x[0-9a-f]*|\d+)$/.test(labels[labels.length - 1]!)) {
    const v4 = ipv4(name);
    if (!v4) return `target host ${host} is not a dotted IPv4 address or a name`;
    return privateV4(v4) ? notPublic : undefined;
  }
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
  const [a, b] = g as [number, number];
  // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address it carries.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return privateV4([g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff]);
  }
  // Only global unicast (2000::/3) is public. Everything else is refused, so a range not listed
  // here fails closed: ::, ::1, IPv4-compatible, SIIT (::ffff:0:0/96), NAT64 (64:ff9b::/96 and
  // the local-use 64:ff9b:1::/48), discard (100::/64), unique local, site- and link-local, multicast.
  if ((a & 0xe000) !== 0x2000) return true;
  return (
    a === 0x2002 || // 6to4 carries an IPv4 address
    (a === 0x2001 && b === 0) || // Teredo carries an IPv4 address
    (a === 0x2001 && b === 0x0db8) || // documentation
    (a === 0x2001 && b === 2 && g[2] === 0) // benchmarking
  );
}
