/** `postern kube-config <connection>`: a kubectl context whose user runs `postern kube-credential`. */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseFlags, STRING } from '../args.ts';
import { CliError } from '../errors.ts';
import { edgeOf, oneConnection } from '../edge-flags.ts';
import { KUBE_CREDENTIAL_BUNDLE, KUBE_CREDENTIAL_ENTRY, ensureProxyBundle } from '../ssh/proxy-bundle.ts';
import { CONNECTION_NAME, checkEntryName, mergeKubeconfig, type KubeEntry } from '../kube/kubeconfig.ts';
import { COMMON_HELP, COMMON_OPTIONS, makeIo, userApi, type Io } from './user-api.ts';

export const help = `Usage: postern kube-config <connection> [--kubeconfig FILE] [--context-name N] [--use] [options]

Adds a cluster, a user and a context for a Kubernetes connection to a kubeconfig, so kubectl (and
any client-go or @kubernetes/client-node program) works unchanged through the edge. The user is an
exec credential plugin: kubectl runs "postern kube-credential", which prints your token; kubectl
keeps it until it expires. Other clusters, users and contexts in the file are kept; re-running it
rewrites only its own three entries. The file is written with mode 0600.

The server is <edge>/v1/kube/<connection>, or https://<connection>.<base domain> when the edge
reports a base domain. The plugin finds its token as every postern command does (env
POSTERN_TOKEN, or POSTERN_ISSUER/_CLIENT_ID/_CLIENT_SECRET, ...); --token-file is written into it;
a token or client secret never is.

A YAML kubeconfig (as kubectl writes it) is edited in place and stays YAML: comments, quoting and
the layout of everything else are kept, except that a long line kubectl folded may come back on
one line (kubectl itself rewrites the whole file, without comments, on every "kubectl config"
edit). A JSON file stays JSON; a new file is JSON. A file with duplicate keys, several YAML
documents, or YAML aliases in the way of the edit is refused and left as it was: give postern a
file of its own and list both in KUBECONFIG.

Options:
  --kubeconfig FILE    the kubeconfig to edit (default: the first file in $KUBECONFIG, else
                       ~/.kube/config)
  --context-name N     the context's name, also used for its cluster and user
                       (default: <connection>.postern)
  --namespace NS       the context's default namespace
  --use                make it the current context
  --server URL         the API server URL kubectl calls, instead of the edge's (for an edge
                       behind another name or proxy)
  --certificate-authority PEM
                       a CA bundle to verify the server with, written into the kubeconfig (for
                       an edge or --server with a private CA; default: the system's roots)
  --postern CMD        run the plugin as "CMD kube-credential", e.g. "postern" (default: this node
                       and the bundled plugin dist/kube-credential.mjs, by absolute path; built
                       if missing)
${COMMON_HELP}

Example:
  postern kube-config demo-kube --edge https://postern.example.com \\
      --use
  kubectl get pods
`;

export const options = {
  ...COMMON_OPTIONS,
  kubeconfig: STRING,
  'context-name': STRING,
  namespace: STRING,
  use: { type: 'boolean', default: false },
  server: STRING,
  'certificate-authority': STRING,
  postern: STRING,
} as const;

/** --kubeconfig, else the first file of $KUBECONFIG (where kubectl writes new entries), else ~/.kube/config. */
export function kubeconfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return resolve(flag);
  const first = (env['KUBECONFIG'] ?? '').split(delimiter).find((p) => p !== '');
  return first ? resolve(first) : join(env['HOME'] || homedir(), '.kube', 'config');
}

/** Where kubectl reaches the connection: --server, a base-domain host, else the edge's path. */
export function serverUrl(edge: string, connection: string, baseDomain: unknown, flag?: string): string {
  if (flag) {
    if (!URL.canParse(flag) || !/^https?:$/.test(new URL(flag).protocol))
      throw new CliError('usage', `--server "${flag}" is not an http(s) URL`);
    return flag;
  }
  if (typeof baseDomain === 'string' && /^[a-z0-9.-]{1,253}$/i.test(baseDomain))
    return `https://${connection}.${baseDomain.toLowerCase()}`;
  return new URL(`/v1/kube/${connection}`, edge).href;
}

/** The edge's view of the connection: that the caller may use it and it is Kubernetes. */
async function checkListed(values: Record<string, unknown>, io: Io, connection: string) {
  const api = await userApi(values, io);
  const listing = await api.call<{ connections?: unknown; baseDomain?: unknown }>(
    'GET',
    '/me/connections',
    undefined,
    'your connection list',
  );
  const list = Array.isArray(listing?.connections)
    ? (listing.connections as Array<Record<string, unknown>>)
    : [];
  const mine = list.find((c) => c?.['name'] === connection);
  if (mine && mine['protocol'] !== 'kubernetes')
    throw new CliError(
      'usage',
      `"${connection}" is a ${String(mine['protocol'])} connection, not Kubernetes`,
    );
  if (!mine)
    process.stderr.write(
      `postern kube-config: "${connection}" is not among the connections you may use now ` +
        `(a grant may open it later); writing the context anyway\n`,
    );
  return listing?.baseDomain;
}

/** A PEM CA bundle from a file, checked to be one (it goes into the kubeconfig as is). */
function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError('usage', `cannot read --certificate-authority ${path}: ${(e as Error).message}`);
  }
  if (pem.length > 1024 * 1024 || !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem))
    throw new CliError('usage', `--certificate-authority ${path} holds no PEM certificate`);
  return pem;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const { values, positionals } = parseFlags(argv, { options, allowPositionals: true });
  if (values.help) {
    io.write(help);
    return 0;
  }
  const connection = oneConnection('kube-config', positionals);
  if (!CONNECTION_NAME.test(connection))
    throw new CliError('usage', `"${connection}" is not a connection name (lower-case letters, digits, -)`);
  const edge = edgeOf(values, io.env);
  const name = checkEntryName(values['context-name'] ?? `${connection}.postern`);
  // With --server there is nothing to learn from the edge; without, ask it (and check the name).
  const baseDomain = values.server ? undefined : await checkListed(values, io, connection);
  // kubectl runs the plugin once per kubectl process (client-go keeps the credential in memory
  // only): the bundle starts in ~0.15 s where the CLI through tsx takes ~1 s (docs/kube-client.md).
  const words = values.postern?.trim().split(/\s+/).filter(Boolean) ?? [];
  const [command, ...args] =
    words.length > 0
      ? [...words, 'kube-credential']
      : [process.execPath, await ensureProxyBundle(KUBE_CREDENTIAL_BUNDLE, KUBE_CREDENTIAL_ENTRY)];
  args.push('--edge', edge);
  if (values['token-file']) args.push('--token-file', resolve(values['token-file']));
  args.push(connection);
  const entry: KubeEntry = {
    name,
    server: serverUrl(edge, connection, baseDomain, values.server),
    command: command!,
    args,
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values['certificate-authority'] ? { caPem: readCa(values['certificate-authority']) } : {}),
  };
  const file = kubeconfigFile(values.kubeconfig, io.env);
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const merged = mergeKubeconfig(existing, entry, values.use, file);
  if (merged.changed) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Written aside and renamed: a kubectl starting meanwhile reads the old file or the new, whole.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, merged.text, { mode: 0o600 });
    renameSync(tmp, file);
  }
  chmodSync(file, 0o600); // a kubeconfig may hold others' credentials: readable by its owner only
  if (values.json)
    io.write(
      JSON.stringify({
        kubeconfig: file,
        changed: merged.changed,
        context: name,
        server: entry.server,
        exec: { command: entry.command, args },
      }) + '\n',
    );
  else
    io.write(
      `${merged.changed ? 'wrote' : 'unchanged:'} context "${name}" (server ${entry.server}) in ${file}\n` +
        (values.use ? '' : `use it: kubectl --context ${name} get pods   (or add --use)\n`),
    );
  return 0;
}
