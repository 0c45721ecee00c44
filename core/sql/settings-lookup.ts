/**
 * pg_dump's one set_config whose setting name is not a literal. Since 15.8/16.4/17.0 (the fix
 * of CVE-2024-7348) pg_dump runs, right after connecting,
 *
 *   SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings
 *     WHERE name = 'restrict_nonsystem_relation_kind'
 *
 * so that it works on a server that lacks the setting (src/bin/pg_dump/pg_backup_db.c,
 * set_restrict_relation_kind). set_config with a name Postern cannot see is refused
 * (setting-statements.ts); this exact statement is read as set_config of that literal name,
 * because the WHERE pins the name: pg_settings holds one row per setting, and `=` on its text
 * column is texteq. Only the reviewed (setting, value) pairs below are accepted, so even a
 * pg_settings that were not the catalog's view (a temporary table of that name, with a column
 * type whose `=` matches anything, which needs CREATE TYPE and CREATE FUNCTION) could set no
 * other setting to anything but those values; the search_path and role such a value would
 * name are kept as possible changes (the table resolver keeps every possibility).
 */
import type { NamespaceChange } from './namespace-changes.ts';
import { splitIdentifierList } from './search-path.ts';

type Node = Record<string, unknown>;

/** Setting → the values pg_dump sets it to. */
const PINNED: Record<string, readonly string[]> = {
  restrict_nonsystem_relation_kind: ['view, foreign-table'],
};

/**
 * The set_config call of `select` and its effect, when `select` is exactly the statement above
 * (any spelling of pg_catalog.pg_settings, any is_local literal); undefined otherwise.
 */
export function pinnedSetConfig(
  select: Node,
): { call: Node; action: 'sql:session'; changes: NamespaceChange[] } | undefined {
  const keys = Object.keys(select).filter(
    (k) => !['targetList', 'fromClause', 'whereClause', 'limitOption', 'op'].includes(k),
  );
  if (keys.length > 0 || select['op'] !== 'SETOP_NONE') return undefined;
  const targets = select['targetList'] as Node[] | undefined;
  const from = select['fromClause'] as Node[] | undefined;
  if (targets?.length !== 1 || from?.length !== 1) return undefined;
  const rel = from[0]!['RangeVar'] as Node | undefined;
  if (!rel || rel['relname'] !== 'pg_settings' || rel['alias'] || rel['catalogname']) return undefined;
  if (rel['schemaname'] !== undefined && rel['schemaname'] !== 'pg_catalog') return undefined;
  const call = ((targets[0]!['ResTarget'] as Node | undefined)?.['val'] as Node | undefined)?.['FuncCall'] as
    Node | undefined;
  if (!call || !isName(call['funcname'], 'set_config') || Object.keys(call).some((k) => !CALL_KEYS.has(k)))
    return undefined;
  const args = call['args'] as Node[] | undefined;
  if (args?.length !== 3 || !isNameColumn(args[0]!)) return undefined;
  const value = stringConst(args[1]!);
  if (value === undefined || !isBoolConst(args[2]!)) return undefined;
  const where = select['whereClause'] as Node | undefined;
  const eq = where?.['A_Expr'] as Node | undefined;
  if (!eq || eq['kind'] !== 'AEXPR_OP' || !isName(eq['name'], '=')) return undefined;
  if (!isNameColumn(eq['lexpr'] as Node)) return undefined;
  const setting = stringConst(eq['rexpr'] as Node);
  if (setting === undefined || !Object.hasOwn(PINNED, setting) || !PINNED[setting]!.includes(value))
    return undefined;
  const path = splitIdentifierList(value);
  const changes: NamespaceChange[] = [{ kind: 'role', role: value }];
  if (path) changes.push({ kind: 'search_path', path });
  return { call, action: 'sql:session', changes };
}

const CALL_KEYS = new Set(['funcname', 'args', 'funcformat', 'location']);

/** `name` or `pg_catalog.name` (a function or operator name list). */
function isName(list: unknown, name: string): boolean {
  if (!Array.isArray(list)) return false;
  const parts = list.map((p) => ((p as Node)['String'] as Node | undefined)?.['sval']);
  return (
    (parts.length === 1 && parts[0] === name) ||
    (parts.length === 2 && parts[0] === 'pg_catalog' && parts[1] === name)
  );
}

/** The column `name` (or `pg_settings.name`). */
function isNameColumn(n: Node | undefined): boolean {
  const fields = (n?.['ColumnRef'] as Node | undefined)?.['fields'];
  if (!Array.isArray(fields)) return false;
  const parts = fields.map((p) => ((p as Node)['String'] as Node | undefined)?.['sval']);
  return (
    (parts.length === 1 && parts[0] === 'name') ||
    (parts.length === 2 && parts[0] === 'pg_settings' && parts[1] === 'name')
  );
}

function stringConst(n: Node | undefined): string | undefined {
  const c = n?.['A_Const'] as Node | undefined;
  const s = c?.['sval'] as Node | undefined;
  return s ? String(s['sval'] ?? '') : undefined;
}

function isBoolConst(n: Node): boolean {
  const c = n['A_Const'] as Node | undefined;
  return c !== undefined && c['boolval'] !== undefined;
}
