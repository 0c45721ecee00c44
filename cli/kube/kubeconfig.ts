/**
 * What `postern kube-config` writes: one cluster, one user and one context for a Kubernetes
 * connection, merged into a kubeconfig without touching anything else in it. Pure: text in, text
 * out (cli/commands/kube-config.ts reads and writes the file).
 *
 * The user is an exec credential plugin (client.authentication.k8s.io/v1, the kubeconfig `exec`
 * stanza of KEP-541): kubectl runs `postern kube-credential` and sends the token it prints.
 *
 * A JSON file stays JSON (kubectl reads it: JSON is a YAML subset; clientcmd parses kubeconfigs
 * with sigs.k8s.io/yaml), and so does a new file. Any other file is YAML, as kubectl writes it,
 * and is edited as a YAML document (./kubeconfig-yaml.ts) so that its comments and spelling
 * survive. Either way the result is checked against the merge done on plain values: a file the
 * edit would not reproduce exactly (anchors, aliases) is refused rather than rewritten by a guess.
 */
import { isDeepStrictEqual } from 'node:util';
import { CliError } from '../errors.ts';
import { editYaml, parseYaml, type YamlKubeconfig } from './kubeconfig-yaml.ts';

export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

// The edge's connection names (workers/names.ts): lower-case letters, digits, inner hyphens.
export const CONNECTION_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// A kubeconfig name we write: printable, no whitespace (kubectl shows them in tables).
const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,252}$/;
/** A kubeconfig bigger than this is not one a person keeps; refuse it rather than parse it. */
export const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

export interface KubeEntry {
  /** The context's name; the cluster and the user carry the same name. */
  name: string;
  /** The API server URL kubectl calls: the edge's /v1/kube/<connection>, or a base-domain host. */
  server: string;
  /** PEM of a private CA for `server`; none when the edge has a public certificate. */
  caPem?: string;
  /** The exec plugin: an absolute program and its arguments. */
  command: string;
  args: string[];
  /** Namespace of the context, if given. */
  namespace?: string;
}

export function checkEntryName(name: string): string {
  if (!ENTRY_NAME.test(name))
    throw new CliError(
      'usage',
      `--context-name "${name}" is not a plain name (letters, digits and . _ : @ / -, up to 253)`,
    );
  return name;
}

type Json = Record<string, unknown>;

/** The three entries, as kubectl's own `config view -o json` shows them. */
export function entries(e: KubeEntry): { cluster: Json; user: Json; context: Json } {
  return {
    cluster: {
      name: e.name,
      cluster: {
        server: e.server,
        ...(e.caPem ? { 'certificate-authority-data': Buffer.from(e.caPem).toString('base64') } : {}),
      },
    },
    user: {
      name: e.name,
      user: {
        exec: {
          apiVersion: EXEC_API_VERSION,
          command: e.command,
          args: e.args,
          // Every token source postern has is non-interactive (env, file, client credentials,
          // GitHub Actions OIDC): the plugin must run in CI, with no terminal, as well.
          interactiveMode: 'Never',
          // The plugin needs nothing of the cluster: the token is the caller's, not per cluster.
          provideClusterInfo: false,
          installHint:
            'postern kube-credential prints the token: install postern and re-run `postern kube-config`',
        },
      },
    },
    context: {
      name: e.name,
      context: { cluster: e.name, user: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) },
    },
  };
}

/** The existing file's text → its value (and its YAML document, when not JSON); empty or absent → a new kubeconfig. */
export function parseKubeconfig(
  text: string | undefined,
  file: string,
): { value: Json; yaml?: YamlKubeconfig } {
  if (text === undefined || text.trim() === '') return { value: { apiVersion: 'v1', kind: 'Config' } };
  if (Buffer.byteLength(text) > MAX_KUBECONFIG_BYTES)
    throw new CliError(
      'kubeconfig',
      `${file} is over ${MAX_KUBECONFIG_BYTES} bytes: not a kubeconfig to edit`,
    );
  let parsed: unknown;
  let yaml: YamlKubeconfig | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    yaml = parseYaml(text, file);
    parsed = yaml.value;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError('kubeconfig', `${file} is JSON but not a kubeconfig (not an object)`);
  const o = parsed as Json;
  for (const list of ['clusters', 'users', 'contexts'])
    if (o[list] !== undefined && o[list] !== null && !Array.isArray(o[list]))
      throw new CliError('kubeconfig', `${file}: "${list}" is not a list; not editing it`);
  return { value: o, ...(yaml ? { yaml } : {}) };
}

/**
 * `list` with `entry` in place of the one of the same name (or appended); others untouched. An
 * entry that already says the same is kept as it is: kubectl rewrites ours with `env: null` (a
 * null field is an absent one to Go's decoder), and that is not a change to write back.
 */
function upsert(list: unknown, entry: Json): unknown[] {
  const items = Array.isArray(list) ? [...(list as unknown[])] : [];
  const at = items.findIndex((i) => (i as Json | null)?.['name'] === entry['name']);
  if (at < 0) items.push(entry);
  else if (!isDeepStrictEqual(withoutNulls(items[at]), entry)) items[at] = entry;
  return items;
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, withoutNulls(x)]])),
  );
}

/**
 * `text` (the current file, or undefined) with `e`'s cluster, user and context set; with `use`,
 * also current-context. Keys and entries it does not set are kept as they were. `changed` is
 * false when the file already says all that (a re-run writes nothing, whatever its layout).
 */
export function mergeKubeconfig(
  text: string | undefined,
  e: KubeEntry,
  use: boolean,
  file = 'the kubeconfig',
): { text: string; changed: boolean } {
  const { value: o, yaml } = parseKubeconfig(text, file);
  const { cluster, user, context } = entries(e);
  const set: Json = {
    ...(o['apiVersion'] == null ? { apiVersion: 'v1' } : {}),
    ...(o['kind'] == null ? { kind: 'Config' } : {}),
    ...(use ? { 'current-context': e.name } : {}),
  };
  const next: Json = {
    ...o,
    ...set,
    clusters: upsert(o['clusters'], cluster),
    users: upsert(o['users'], user),
    contexts: upsert(o['contexts'], context),
  };
  if (text !== undefined && text.trim() !== '' && isDeepStrictEqual(next, o)) return { text, changed: false };
  if (!yaml) return { text: JSON.stringify(next, null, 2) + '\n', changed: true };
  // Each list's entry of our name as the merge left it (ours, or theirs when it says the same).
  const mine = (list: string) => (next[list] as Json[]).find((i) => i?.['name'] === e.name)!;
  const lists = { clusters: mine('clusters'), users: mine('users'), contexts: mine('contexts') };
  const out = editChecked(() => editYaml(yaml.doc, lists, set), next, file);
  if (out === undefined)
    throw new CliError(
      'kubeconfig',
      `${file} could not be edited without changing other entries (YAML anchors or aliases?): ` +
        `not editing it. Write a file of its own and list both for kubectl: postern kube-config ` +
        `--kubeconfig ~/.kube/postern.yaml ...; export KUBECONFIG=${file}:~/.kube/postern.yaml`,
    );
  return { text: out, changed: true };
}

/**
 * The edited document's text if it says exactly what the plain merge says, else undefined. An
 * alias in the way makes it differ (an edit through it changes what else names it; replacing an
 * anchored entry orphans its aliases, which yaml will not print or re-read).
 */
function editChecked(edit: () => string, want: Json, file: string): string | undefined {
  try {
    const out = edit();
    return isDeepStrictEqual(parseYaml(out, file).value, want) ? out : undefined;
  } catch {
    return undefined;
  }
}
