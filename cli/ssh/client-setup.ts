/**
 * What `postern ssh-config` and `postern ssh` share: the caller's SSH connections from the user
 * API, the known_hosts file they pin gateway keys in, and how ssh should run the proxy.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CliError } from '../errors.ts';
import { userApi, type Io } from '../commands/user-api.ts';
import { ensureProxyBundle } from './proxy-bundle.ts';
import { mergeKnownHosts, sshHosts, type ProxySpec, type SshHost } from './ssh-config.ts';

/** `$POSTERN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/postern`, else `~/.config/postern`. */
export function configDir(env: NodeJS.ProcessEnv): string {
  if (env['POSTERN_CONFIG_DIR']) return resolve(env['POSTERN_CONFIG_DIR']);
  const base = env['XDG_CONFIG_HOME'] ? resolve(env['XDG_CONFIG_HOME']) : join(homedir(), '.config');
  return join(base, 'postern');
}

export function knownHostsFile(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ? resolve(flag) : join(configDir(env), 'known_hosts');
}

/**
 * How ssh runs the proxy: `--postern "words" ssh-proxy`, else this node and the bundled proxy by
 * absolute path (built first when missing or stale), whatever PATH holds when ssh runs it.
 */
export async function proxySpec(values: Record<string, unknown>, edge: string): Promise<ProxySpec> {
  const words = typeof values['postern'] === 'string' ? values['postern'].trim().split(/\s+/) : [];
  const spec: ProxySpec = {
    proxy:
      words.length > 0 && words[0] ? [...words, 'ssh-proxy'] : [process.execPath, await ensureProxyBundle()],
    edge,
  };
  if (typeof values['token-file'] === 'string') spec.tokenFile = resolve(values['token-file']);
  return spec;
}

/** The caller's SSH connections (GET /api/v1/me/connections), each with its gateway keys. */
export async function listSshHosts(
  values: Record<string, unknown>,
  io: Io,
  warn: (line: string) => void,
): Promise<SshHost[]> {
  const api = await userApi(values, io);
  const listing = await api.call<unknown>('GET', '/me/connections', undefined, 'your connection list');
  let result: ReturnType<typeof sshHosts>;
  try {
    result = sshHosts(listing);
  } catch (e) {
    throw new CliError('api_error', `${(e as Error).message} (GET /api/v1/me/connections)`);
  }
  for (const s of result.skipped) warn(`skipped ${s}`);
  return result.hosts;
}

/** Pins the hosts' keys in `file` (created with its folder); returns whether it changed. */
export function writeKnownHosts(file: string, hosts: SshHost[]): boolean {
  let existing = '';
  try {
    existing = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const next = mergeKnownHosts(existing, hosts);
  if (next === existing) return false;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed: an ssh starting meanwhile reads the old file or the new, whole.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, next, { mode: 0o644 });
  renameSync(tmp, file);
  return true;
}
