/**
 * The headers a client's API request reaches the cluster with. Nothing that speaks for the
 * caller passes from the client: the gateway authenticates with the connection's credential and,
 * when the connection says so, names the verified caller through impersonation headers
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation),
 * so the cluster's RBAC and audit log see the real person.
 *
 * Dropped from the client: `Authorization` and `Proxy-Authorization`; every `Impersonate-*`
 * (User, Group, Uid, Extra-*: any name starting so, in any case, `_` read as `-` because some
 * proxies translate it); the authenticating-proxy headers `X-Remote-*` (the server trusts them
 * from a front-proxy certificate, which a connection might use); cookies (the edge's own);
 * hop-by-hop headers (RFC 9110 §7.6.1) and any header the client's `Connection` lists; `Host`
 * and `Forwarded`/`X-Forwarded-*` (the transport sets its own); `Accept-Encoding` (responses are
 * read to be masked: the API server then answers uncompressed). `Accept` is rewritten
 * (content-type.ts). A header name that is not an RFC 9110 token is dropped.
 */

export type KubeCredential =
  /** A service-account (or other bearer) token, sent as `Authorization: Bearer`. */
  | { kind: 'bearer'; token: string }
  /** A client certificate the connector presents in TLS: no header. */
  | { kind: 'client-certificate' };

export interface ImpersonationSettings {
  /** Impersonate the caller (the connection's credential must be allowed to). */
  impersonate: boolean;
  /** Which identity field names the user: the token's email, or `issuer#subject`. */
  user?: 'email' | 'subject';
  /** Prefix given to each group (`postern:` makes them apart from the cluster's own). */
  groupPrefix?: string;
}

/** The verified caller, as the identity module gives it. */
export interface KubeCaller {
  issuer: string;
  subject: string;
  groups: string[];
  email?: string;
}

export type UpstreamHeaders = { ok: true; headers: Array<[string, string]> } | { ok: false; why: string };

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

const DROPPED = new Set(['authorization', 'cookie', 'host', 'forwarded', 'accept-encoding', 'accept']);

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value with no CR, LF or NUL (RFC 9110 §5.5), nor other controls but tab; bytes as Latin-1. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Most groups impersonated (each is a header). */
export const MAX_GROUPS = 256;

/** The client's headers as they may reach the API server, plus the credential and impersonation. */
export function upstreamHeaders(
  client: Iterable<[string, string]>,
  caller: KubeCaller,
  credential: KubeCredential,
  settings: ImpersonationSettings,
): UpstreamHeaders {
  const pairs = [...client];
  const listed = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) listed.add(token.trim().toLowerCase());
  }
  const out: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name)) continue;
    const lower = name.toLowerCase();
    const folded = lower.replace(/_/g, '-');
    if (HOP_BY_HOP.has(folded) || DROPPED.has(folded) || listed.has(lower) || listed.has(folded)) continue;
    if (
      folded.startsWith('impersonate') ||
      folded.startsWith('x-remote-') ||
      folded.startsWith('x-forwarded-')
    )
      continue;
    if (!VALUE.test(value)) continue;
    out.push([lower, value]);
  }
  if (credential.kind === 'bearer') {
    if (!/^[\x21-\x7e]+$/.test(credential.token))
      return { ok: false, why: 'the connection token is not a bearer token' };
    out.push(['authorization', `Bearer ${credential.token}`]);
  }
  if (settings.impersonate) {
    const user =
      settings.user === 'subject' || !caller.email ? `${caller.issuer}#${caller.subject}` : caller.email;
    if (!headerValue(user)) return { ok: false, why: 'the caller has no name that fits a header' };
    if (caller.groups.length > MAX_GROUPS)
      return { ok: false, why: `the caller is in over ${MAX_GROUPS} groups` };
    out.push(['impersonate-user', user]);
    for (const g of caller.groups) {
      const group = `${settings.groupPrefix ?? ''}${g}`;
      if (!headerValue(group)) return { ok: false, why: 'a group of the caller does not fit a header' };
      out.push(['impersonate-group', group]);
    }
  }
  return { ok: true, headers: out };
}

/**
 * Non-empty printable ASCII with no leading or trailing space (which HTTP would strip): the
 * API server reads impersonation headers as Go strings, and a name outside ASCII would need an
 * encoding both sides agree on. An identity that does not fit is refused, never altered.
 */
function headerValue(v: string): boolean {
  return v.length > 0 && v.length <= 1024 && /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v);
}
