/**
 * The three PATCH bodies kubectl and client libraries send (Content-Type picks one):
 *  - application/json-patch+json: RFC 6902 operations;
 *  - application/merge-patch+json: RFC 7386 (null deletes, objects merge, arrays replace);
 *  - application/strategic-merge-patch+json: Kubernetes' variant where lists of named things
 *    (containers, env, ports, volumes...) merge by their patch merge key, with the `$patch`,
 *    `$retainKeys`, `$setElementOrder/` and `$deleteFromPrimitiveList/` directives
 *    (community/contributors/devel/sig-api-machinery/strategic-merge-patch.md). The merge keys
 *    are the `patchMergeKey` tags of the core/apps types this server serves.
 * Server-side apply (application/apply-patch+yaml) is not implemented: it answers 415.
 */
import type { JsonObject } from './resources.ts';
import { KubeError, badRequest } from './status.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386 section 2: MergePatch(Target, Patch). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6901 JSON Pointer into parent + last token. */
function pointer(doc: unknown, path: string): { parent: unknown; key: string } {
  if (path === '' || !path.startsWith('/'))
    throw badRequest(`the json patch path is invalid: ${JSON.stringify(path)}`);
  const tokens = path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw badRequest(`doc is missing path: "${path}": missing value`);
  }
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function get(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  const { parent, key } = pointer(doc, path);
  const v = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
  if (v === undefined) throw badRequest(`doc is missing path: "${path}": missing value`);
  return v;
}

function add(doc: unknown, path: string, value: unknown) {
  const { parent, key } = pointer(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length)
      throw badRequest(`add operation index out of bounds: ${key}`);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) parent[key] = value;
  else throw badRequest(`doc is missing path: "${path}": missing value`);
}

function remove(doc: unknown, path: string) {
  const { parent, key } = pointer(doc, path);
  get(doc, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as JsonObject)[key];
}

/** RFC 6902 section 4. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  const doc = { root: clone(target) };
  const at = (p: string) => `/root${p}`;
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw badRequest('invalid json patch operation');
    switch (op.op) {
      case 'add':
        add(doc, at(op.path), clone(op.value));
        break;
      case 'remove':
        remove(doc, at(op.path));
        break;
      case 'replace':
        remove(doc, at(op.path));
        add(doc, at(op.path), clone(op.value));
        break;
      case 'move':
      case 'copy': {
        const from = String(op.from);
        const v = clone(get(doc, at(from)));
        if (op.op === 'move') remove(doc, at(from));
        add(doc, at(op.path), v);
        break;
      }
      case 'test':
        if (JSON.stringify(get(doc, at(op.path))) !== JSON.stringify(op.value))
          throw new KubeError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc.root;
}

/** `patchMergeKey` of the list fields in core/v1 and apps/v1 types, by field name. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};
/** Lists of scalars with patchStrategy merge (union instead of replace). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function strategicList(
  field: string,
  target: unknown[],
  patch: unknown[],
  order: unknown[] | undefined,
): unknown[] {
  const key = MERGE_KEYS[field];
  if (MERGED_SCALAR_LISTS.has(field)) return [...target, ...patch.filter((p) => !target.includes(p))];
  if (!key) return clone(patch);
  const out = target.map(clone);
  for (const item of patch) {
    if (!isObject(item)) continue;
    const i = out.findIndex((t) => isObject(t) && t[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (item.$patch === 'replace') {
      const { $patch: _, ...rest } = item;
      if (i >= 0) out[i] = rest;
      else out.push(rest);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i], item);
    else out.push(strategicMergePatch({}, item));
  }
  if (order) {
    const rank = (v: unknown) => {
      const r = order.findIndex((o) => isObject(o) && isObject(v) && o[key] === v[key]);
      return r < 0 ? order.length : r;
    };
    out.sort((a, b) => rank(a) - rank(b));
  }
  return out;
}

/** Applies a strategic merge patch to `target` (both JSON). */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(target) ? clone(target) : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = Array.isArray(v) ? v : [];
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !drop.includes(x));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) {
      const order = patch[`$setElementOrder/${k}`];
      out[k] = strategicList(
        k,
        Array.isArray(out[k]) ? (out[k] as unknown[]) : [],
        v,
        Array.isArray(order) ? order : undefined,
      );
    } else if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

/** Dispatches on the PATCH Content-Type (media type only, parameters ignored). */
export function applyPatch(contentType: string, target: unknown, body: unknown): unknown {
  switch (contentType.split(';')[0]!.trim()) {
    case 'application/json-patch+json':
      return jsonPatch(target, body);
    case 'application/merge-patch+json':
      return mergePatch(target, body);
    case 'application/strategic-merge-patch+json':
      return strategicMergePatch(target, body);
    default:
      throw new KubeError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
  }
}
