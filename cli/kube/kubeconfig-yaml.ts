/**
 * A YAML kubeconfig (what kubectl writes), parsed and edited as a document so that everything
 * postern does not set keeps its text: comments, quoting, key order, and the spelling of numbers
 * and booleans. Pure: text in, text out; cli/kube/kubeconfig.ts decides what to set.
 *
 * Parsed as YAML 1.2, core schema (YAML 1.2.2 §10.3): `on`/`yes` are strings, duplicate keys and a
 * multi-document file are refused, aliases are bounded. kubectl itself reads YAML 1.1
 * (sigs.k8s.io/yaml over go-yaml), where plain `on`, `yes`, `0777` mean true, true, 511: so no
 * scalar we did not write is re-spelled, and a string we write is quoted whenever YAML 1.1 would
 * read it as anything but that string.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  Scalar,
  visit,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type ToStringOptions,
} from 'yaml';
import { CliError } from '../errors.ts';

type Json = Record<string, unknown>;

/**
 * An alias expands to the node it names: a few nested ones make exponential output ("billion
 * laughs"). A kubeconfig has no need of many; yaml refuses the document past this count.
 */
export const MAX_ALIASES = 100;

/**
 * A number or boolean we parsed is written back as it was spelled (`0777`, `1e3`, `True`), not
 * as yaml would print its value (`777`, `1000`, `true`): the same to YAML 1.2, not to kubectl.
 */
const keepSpelling: SchemaOptions['customTags'] = (tags) =>
  tags.map((t) =>
    typeof t === 'string' || t.tag === 'tag:yaml.org,2002:str' || !t.stringify
      ? t
      : {
          ...t,
          stringify(item, ctx, onComment, onChompKeep) {
            const s = (item as Scalar).source;
            if (
              typeof s === 'string' &&
              (item as Scalar).type === Scalar.PLAIN &&
              isDeepStrictEqual(
                t.resolve?.(s, () => undefined, {}),
                item.value,
              )
            )
              return s;
            return t.stringify!(item, ctx, onComment, onChompKeep);
          },
        },
  );

const OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  uniqueKeys: true,
  customTags: keepSpelling,
};
// kubectl's layout (`- name:` at the list's own indent); no folding of long lines.
const TO_STRING: ToStringOptions = { indentSeq: false, lineWidth: 0 };

export interface YamlKubeconfig {
  doc: Document;
  value: Json;
}

/** One YAML document whose top level is a map, or a CliError saying why not. */
export function parseYaml(text: string, file: string): YamlKubeconfig {
  const docs = parseAllDocuments(text, OPTIONS);
  if (!Array.isArray(docs))
    throw new CliError('kubeconfig', `${file} is not a YAML document: not editing it`);
  if (docs.length !== 1)
    throw new CliError(
      'kubeconfig',
      `${file} holds ${docs.length} YAML documents; a kubeconfig is one: not editing it`,
    );
  const doc = docs[0]!;
  const err = doc.errors[0];
  if (err)
    throw new CliError(
      'kubeconfig',
      `${file} is neither JSON nor valid YAML (${err.code}: ${err.message.split('\n')[0]}): not editing it`,
    );
  if (!isMap(doc.contents))
    throw new CliError('kubeconfig', `${file} is YAML but not a kubeconfig (not a map)`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new CliError('kubeconfig', `${file}: ${(e as Error).message}: not editing it`);
  }
  return { doc, value: value as Json };
}

/** `v` as a node of `doc`, each string quoted if YAML 1.1 would read its plain form otherwise. */
function nodeOf(doc: Document, v: unknown) {
  const node = doc.createNode(v);
  visit(node, {
    Scalar(_, s) {
      if (typeof s.value === 'string' && !plainIn11(s.value)) s.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return node;
}

const toJS = (doc: Document, n: unknown) => (isNode(n) ? n.toJS(doc, { maxAliasCount: MAX_ALIASES }) : n);

function plainIn11(s: string): boolean {
  try {
    const d = parseDocument(s, { version: '1.1' });
    return d.errors.length === 0 && isScalar(d.contents) && d.contents.value === s;
  } catch {
    return false;
  }
}

/**
 * `doc` with each entry of `lists` in place of the item of the same name in that list (or
 * appended; an item that already says the same is left as it is), and each key of `set` set; the
 * rest of the document as it was. Returns the text.
 */
export function editYaml(doc: Document, lists: Record<string, Json>, set: Json): string {
  const top = doc.contents;
  if (!isMap(top)) throw new Error('editYaml: not a map'); // parseYaml checked
  for (const [key, entry] of Object.entries(lists)) {
    const list = top.get(key, true);
    if (!isSeq(list)) {
      top.set(key, nodeOf(doc, [entry]));
      continue;
    }
    list.flow = false; // `users: []` grows as a block list, as kubectl writes it
    const at = list.items.findIndex((i) => isMap(i) && i.get('name') === entry['name']);
    if (at < 0) list.items.push(nodeOf(doc, entry));
    else if (!isDeepStrictEqual(toJS(doc, list.items[at]), entry)) list.items[at] = nodeOf(doc, entry);
  }
  for (const [key, v] of Object.entries(set)) top.set(key, nodeOf(doc, v));
  return doc.toString(TO_STRING);
}
