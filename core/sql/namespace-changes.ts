/**
 * What a statement may change about how the server resolves an unqualified table name
 * (src/backend/catalog/namespace.c: the first schema of the search_path holding a relation of
 * that name, pg_catalog first unless the path places it): the path itself, the role `$user`
 * stands for, and which relations and schemas exist. The gate's TableResolver
 * (core/policy/table-resolver.ts) applies these; a change is assumed as soon as a statement that
 * may make it is checked (it may run, roll back or fail: the resolver keeps every possibility).
 */
import { truncateIdentifier } from './search-path.ts';
import { selectInto } from './select-into.ts';

export type NamespaceChange =
  /** A new search_path (entries as the server reads them, `$user` included). */
  | { kind: 'search_path'; path: string[] }
  /** The current role may become `role` (undefined: a role the gateway cannot see). */
  | { kind: 'role'; role: string | undefined }
  /** A relation of this name may appear or disappear (schema undefined: as resolved). */
  | { kind: 'relation'; schema: string | undefined; name: string }
  /** A schema may appear, disappear or change its relations. */
  | { kind: 'schema'; name: string }
  /** Anything may have changed (code the gateway cannot see into: DO, CALL, extensions...). */
  | { kind: 'anything' };

type Node = Record<string, unknown>;

/** Object types whose names are relation names (pg_class, other than indexes and composite types). */
const RELATION_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
]);

/** Statements that run code or create objects the gateway cannot enumerate. */
const OPAQUE = new Set([
  'DoStmt',
  'CallStmt',
  'CreateExtensionStmt',
  'AlterExtensionStmt',
  'AlterExtensionContentsStmt',
  'DropOwnedStmt',
  'ImportForeignSchemaStmt',
]);

/**
 * The changes of one parse-tree node (`key` is its type), or undefined for nodes that change no
 * name. Temporary relations are left out: the resolver never resolves a name to pg_temp.
 */
export function namespaceChangesOf(key: string, node: Node): NamespaceChange[] | undefined {
  if (OPAQUE.has(key)) return [{ kind: 'anything' }];
  switch (key) {
    case 'CreateStmt':
      return created(node['relation']);
    case 'CreateForeignTableStmt':
      return created((node['base'] as Node | undefined)?.['relation']);
    case 'CreateTableAsStmt':
      return created((node['into'] as Node | undefined)?.['rel']);
    case 'SelectStmt':
      return selectInto(node) ? created(selectInto(node)?.['rel']) : undefined;
    case 'ViewStmt':
      return created(node['view']);
    case 'CreateSeqStmt':
      return created(node['sequence']);
    case 'CreateSchemaStmt':
      return [{ kind: 'schema', name: String(node['schemaname'] ?? '') }];
    case 'DropStmt':
      return dropped(node);
    case 'RenameStmt': {
      const type = String(node['renameType'] ?? '');
      if (type === 'OBJECT_SCHEMA') {
        return [schema(node['subname']), schema(node['newname'])];
      }
      if (!RELATION_OBJECTS.has(type)) return undefined;
      const rel = relation(node['relation']);
      if (!rel) return [{ kind: 'anything' }];
      return [rel, { ...rel, name: truncateIdentifier(String(node['newname'] ?? '')) }];
    }
    case 'AlterObjectSchemaStmt': {
      if (!RELATION_OBJECTS.has(String(node['objectType'] ?? ''))) return undefined;
      const rel = relation(node['relation']);
      if (!rel) return [{ kind: 'anything' }];
      return [rel, { ...rel, schema: String(node['newschema'] ?? '') }];
    }
    default:
      return undefined;
  }
}

function relation(rv: unknown): Extract<NamespaceChange, { kind: 'relation' }> | undefined {
  if (rv === null || typeof rv !== 'object') return undefined;
  const r = rv as Node;
  const schemaname = r['schemaname'];
  return {
    kind: 'relation',
    schema: schemaname === undefined ? undefined : String(schemaname),
    name: String(r['relname'] ?? ''),
  };
}

function created(rv: unknown): NamespaceChange[] | undefined {
  const rel = relation(rv);
  if (!rel) return [{ kind: 'anything' }];
  if ((rv as Node)['relpersistence'] === 't' || (rel.schema !== undefined && isTempSchema(rel.schema)))
    return undefined;
  return [rel];
}

function dropped(node: Node): NamespaceChange[] | undefined {
  const type = String(node['removeType'] ?? '');
  const objects = Array.isArray(node['objects']) ? (node['objects'] as Node[]) : [];
  if (type === 'OBJECT_SCHEMA') {
    return objects.map((o) => schema((o['String'] as Node | undefined)?.['sval']));
  }
  if (!RELATION_OBJECTS.has(type)) return undefined;
  const out: NamespaceChange[] = [];
  for (const o of objects) {
    const items = ((o['List'] as Node | undefined)?.['items'] ?? []) as Node[];
    const names = items.map((i) => String((i['String'] as Node | undefined)?.['sval'] ?? ''));
    const name = names[names.length - 1];
    if (name === undefined) return [{ kind: 'anything' }];
    // [catalog.]schema.name, or name
    out.push({ kind: 'relation', schema: names.length > 1 ? names[names.length - 2] : undefined, name });
  }
  return out;
}

function schema(name: unknown): NamespaceChange {
  return { kind: 'schema', name: String(name ?? '') };
}

/** `pg_temp` and a session's own `pg_temp_<n>` (names starting `pg_` are reserved for the server). */
export function isTempSchema(name: string): boolean {
  return /^pg_temp(_\d+)?$/.test(name);
}
