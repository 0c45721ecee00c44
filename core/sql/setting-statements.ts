/**
 * Statements that change a setting: SET/RESET (`VariableSetStmt`, also inside ALTER ROLE/DATABASE/
 * SYSTEM ... SET) and calls of `set_config(name, value, is_local)`, which is SET by another name
 * (and what an UPDATE of pg_settings runs, through the view's rule). Each is classified by the
 * setting it names: the role → `sql:set_role`; a setting that changes how the server reads SQL →
 * refused whatever the policy (core/sql/reading-settings.ts); search_path and the role → a change
 * of how names resolve; anything else → `sql:session`.
 */
import type { NamespaceChange } from './namespace-changes.ts';
import { readingSettingRefusal } from './reading-settings.ts';
import { splitIdentifierList, truncateIdentifier } from './search-path.ts';

type Node = Record<string, unknown>;

export interface SettingEffect {
  action?: 'sql:set_role' | 'sql:session';
  /** Refused whatever the policy: why. */
  refusal?: string;
  change?: NamespaceChange;
}

const ROLE_SETTINGS = new Set(['role', 'session_authorization']);

/** SET name = value, SET LOCAL, SET SESSION, RESET name, RESET ALL, SET name TO DEFAULT. */
export function variableSetEffect(node: Node): SettingEffect {
  const kind = String(node['kind'] ?? '');
  // RESET ALL, SET TRANSACTION ... (VAR_SET_MULTI): back to session start, or not a setting.
  if (kind === 'VAR_RESET_ALL' || kind === 'VAR_SET_MULTI' || node['name'] === undefined) {
    return { action: 'sql:session' };
  }
  const name = String(node['name']).toLowerCase();
  const args = Array.isArray(node['args']) ? (node['args'] as Node[]) : [];
  const values = kind === 'VAR_SET_VALUE' ? args.map(constText) : [];
  const single = values.length === 1 ? values[0] : undefined;

  const refusal = readingSettingRefusal(name, single);
  if (refusal) return { refusal };
  if (ROLE_SETTINGS.has(name)) {
    // RESET ROLE, SET ROLE NONE, ... DEFAULT: back to the session's own role, already known.
    if (kind !== 'VAR_SET_VALUE' || (name === 'role' && single?.toLowerCase() === 'none')) {
      return { action: 'sql:set_role' };
    }
    return { action: 'sql:set_role', change: { kind: 'role', role: single } };
  }
  if (name === 'search_path' && kind === 'VAR_SET_VALUE') {
    // A list setting: every element is one name, exactly (the server quotes each before it splits).
    if (values.some((v) => v === undefined)) return { refusal: UNREADABLE_PATH };
    return {
      action: 'sql:session',
      change: { kind: 'search_path', path: (values as string[]).map(truncateIdentifier) },
    };
  }
  // RESET search_path / SET search_path TO DEFAULT: back to the session's start, already known.
  return { action: 'sql:session' };
}

/** A call of set_config(name, value, is_local). */
export function setConfigEffect(call: Node): SettingEffect {
  const args = Array.isArray(call['args']) ? (call['args'] as Node[]) : [];
  const name = args[0] === undefined ? undefined : constText(args[0]);
  if (name === undefined) {
    return {
      refusal:
        'statement refused: set_config needs the setting name as a literal so that Postern can check it',
    };
  }
  const setting = name.toLowerCase();
  const value = args[1] === undefined ? undefined : constText(args[1]);
  const refusal = readingSettingRefusal(setting, value);
  if (refusal) return { refusal };
  if (ROLE_SETTINGS.has(setting)) {
    const back = setting === 'role' && value?.toLowerCase() === 'none';
    return back
      ? { action: 'sql:set_role' }
      : { action: 'sql:set_role', change: { kind: 'role', role: value } };
  }
  if (setting === 'search_path') {
    const path = value === undefined ? undefined : splitIdentifierList(value);
    if (!path) return { refusal: UNREADABLE_PATH };
    return { action: 'sql:session', change: { kind: 'search_path', path } };
  }
  return { action: 'sql:session' };
}

const UNREADABLE_PATH =
  'statement refused: Postern must see the new search_path (a literal value) to tell which tables later statements name';

/** A literal's text as the server flattens it into a setting value; undefined for anything else. */
function constText(arg: Node): string | undefined {
  const c = arg['A_Const'] as Node | undefined;
  if (!c || c['isnull']) return undefined;
  if (c['sval']) return String((c['sval'] as Node)['sval'] ?? '');
  // Zero values are left out of the protobuf JSON: {"ival": {}} is 0, {"boolval": {}} false.
  if (c['ival']) return String((c['ival'] as Node)['ival'] ?? 0);
  if (c['fval']) return String((c['fval'] as Node)['fval'] ?? '0');
  if (c['boolval']) return (c['boolval'] as Node)['boolval'] ? 'true' : 'false';
  return undefined;
}
