/**
 * What `postern ssh-config` prints and `postern ssh` passes to ssh: for each SSH connection the
 * caller may use, an ssh_config(5) Host block whose ProxyCommand runs `postern ssh-proxy`, and
 * known_hosts(5) lines pinning the connection's gateway host keys under a HostKeyAlias, so
 * `StrictHostKeyChecking yes` holds from the first connection. Pure: text in, text out.
 *
 * The connection list comes from the edge and is treated as hostile: a name or key that could
 * break out of its line (and, say, add a ProxyCommand of its own) is skipped, never printed.
 */
import { shQuote } from '../shell-quote.ts';

/** Host names look like `<connection>.postern`; HostKeyAlias makes known_hosts use it as is. */
export const HOST_SUFFIX = '.postern';

// The edge's connection names (workers/names.ts): lower-case letters, digits, inner hyphens.
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// Public key algorithms a gateway host key may have (RFC 5656 §6.2, RFC 8709, RFC 4253 §6.6).
const KEY_TYPES = new Set([
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-ed25519',
  'ssh-rsa',
]);
const MAX_KEY_BASE64 = 4096; // an RSA 8192 key is ~1.4 KB of base64
const MAX_HOSTS = 1000;

export interface SshHost {
  connection: string;
  /** `<connection>.postern`: the Host name and its HostKeyAlias. */
  alias: string;
  /** `type base64` of each gateway host key. */
  hostKeys: string[];
}

/** A public key line `type base64 [comment]` → `type base64`, or null when it is not one. */
export function hostKeyOf(line: unknown): string | null {
  if (typeof line !== 'string') return null;
  const [type, key, ...rest] = line.trim().split(/[ \t]+/);
  if (!type || !key || !KEY_TYPES.has(type)) return null;
  if (key.length > MAX_KEY_BASE64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return null;
  // The blob starts with the algorithm name again (RFC 4253 §6.6: string "ecdsa-sha2-...").
  const blob = Buffer.from(key, 'base64');
  const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (n !== type.length || blob.subarray(4, 4 + n).toString('latin1') !== type) return null;
  if (rest.some((w) => /[\r\n]/.test(w))) return null;
  return `${type} ${key}`;
}

/**
 * The SSH connections of `GET /api/v1/me/connections`, each with its usable host keys; what was
 * skipped and why, for a warning. Postgres connections are not listed.
 */
export function sshHosts(listing: unknown): { hosts: SshHost[]; skipped: string[] } {
  const hosts: SshHost[] = [];
  const skipped: string[] = [];
  const list = (listing as { connections?: unknown } | null)?.connections;
  if (!Array.isArray(list)) throw new Error('the edge sent no connection list');
  for (const c of list.slice(0, MAX_HOSTS) as Array<Record<string, unknown>>) {
    if (c?.['protocol'] !== 'ssh') continue;
    const name = c['name'];
    if (typeof name !== 'string' || !NAME.test(name)) {
      skipped.push(`a connection whose name is not a plain name (${JSON.stringify(name).slice(0, 40)})`);
      continue;
    }
    const keys = (c['ssh'] as { hostKeys?: unknown } | undefined)?.hostKeys;
    const hostKeys = Array.isArray(keys) ? keys.map(hostKeyOf).filter((k): k is string => k !== null) : [];
    if (hostKeys.length === 0) {
      skipped.push(`"${name}": the edge sent no usable gateway host key`);
      continue;
    }
    hosts.push({ connection: name, alias: `${name}${HOST_SUFFIX}`, hostKeys: [...new Set(hostKeys)] });
  }
  return { hosts, skipped };
}

export interface ProxySpec {
  /**
   * How to start the proxy, one argument per element, before its options: node and the bundled
   * proxy by absolute path by default (cli/ssh/proxy-bundle.ts), or `postern ssh-proxy`.
   */
  proxy: string[];
  edge: string;
  /** Passed on to the proxy; a token itself never goes in a config file. */
  tokenFile?: string;
}

/**
 * ssh_config(5) TOKENS: `%` starts a token in ProxyCommand, UserKnownHostsFile and
 * HostKeyAlias, so a literal one is written `%%`.
 */
const percent = (s: string) => s.replaceAll('%', '%%');

/** The ProxyCommand value: a shell command line (ssh runs it with `$SHELL -c "exec ..."`). */
export function proxyCommand(spec: ProxySpec, connection: string): string {
  const argv = [...spec.proxy, '--edge', spec.edge];
  if (spec.tokenFile) argv.push('--token-file', spec.tokenFile);
  argv.push(connection);
  return percent(argv.map(shQuote).join(' '));
}

/** A path as one ssh_config argument: double-quoted when it has spaces (ssh_config(5)). */
export function configPath(path: string): string {
  if (/["\r\n]/.test(path)) throw new Error(`a path ssh_config cannot hold: ${JSON.stringify(path)}`);
  const p = percent(path);
  return /[\s#]/.test(p) ? `"${p}"` : p;
}

/** The options of one host, in order, as ssh_config keyword/value pairs. */
export function hostOptions(
  host: SshHost,
  spec: ProxySpec,
  knownHostsFile: string,
  login?: string,
): Array<[string, string]> {
  const opts: Array<[string, string]> = [
    ['ProxyCommand', proxyCommand(spec, host.connection)],
    ['HostKeyAlias', host.alias],
    ['UserKnownHostsFile', configPath(knownHostsFile)],
    ['StrictHostKeyChecking', 'yes'],
    // The pinned keys are the edge's to change (through ssh-config), not the server's to add.
    ['UpdateHostKeys', 'no'],
  ];
  if (login !== undefined) opts.push(['User', login]);
  return opts;
}

/** One Host block per connection, ready for ~/.ssh/config or `ssh -F`. */
export function configText(
  hosts: SshHost[],
  spec: ProxySpec,
  knownHostsFile: string,
  login?: string,
): string {
  return hosts
    .map(
      (h) =>
        `# postern: SSH connection "${h.connection}" through ${spec.edge.replace(/[\r\n]/g, '')}\n` +
        `Host ${h.alias}\n` +
        hostOptions(h, spec, knownHostsFile, login)
          .map(([k, v]) => `  ${k} ${v}\n`)
          .join(''),
    )
    .join('\n');
}

/** `-o Keyword=value` arguments for ssh, the same options without a config file. */
export function sshArgs(host: SshHost, spec: ProxySpec, knownHostsFile: string): string[] {
  return hostOptions(host, spec, knownHostsFile).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/**
 * `existing` known_hosts text with the lines for these hosts replaced by their current keys:
 * other lines (and @revoked / @cert-authority markers) are kept as they are, and the result of
 * merging the same hosts twice is the same text (idempotent).
 */
export function mergeKnownHosts(existing: string, hosts: SshHost[]): string {
  const ours = new Set(hosts.map((h) => h.alias));
  const kept = existing
    .split('\n')
    .filter((line) => line.trim() !== '' && !ours.has(line.trim().split(/[ \t]+/)[0]!));
  const added = hosts.flatMap((h) => h.hostKeys.map((k) => `${h.alias} ${k}`));
  return [...kept, ...added].join('\n') + '\n';
}
