/**
 * A setting asked for at startup is the same as `SET name TO value` run first thing after
 * connecting, so the policy decides it as that SET: the checker classifies the statement as any
 * other (core/sql/setting-statements.ts: `sql:session`, search_path as a change of how names
 * resolve), Cedar decides, the audit trail records it (protocol `startup`). What a principal may
 * not SET, it cannot set at startup either.
 */
import { splitIdentifierList } from '../sql/search-path.ts';
import type { StatementChecker } from './checker.ts';
import type { CloseReason } from './close-reason.ts';
import type { StartupSetting } from './startup-options.ts';

/** The SET statement a startup setting amounts to. */
export function equivalentSet(setting: StartupSetting): string {
  const value = setting.value ?? '';
  if (setting.name.toLowerCase() === 'search_path') {
    // A startup value is one string the server splits as a list (as set_config's), where SET
    // takes one name per literal: the same path written as SET.
    const path = splitIdentifierList(value);
    if (path && path.length > 0) return `SET search_path TO ${path.map(literal).join(', ')}`;
    // The empty path, or one the server will refuse anyway: set_config reads the string as is.
    return `SELECT pg_catalog.set_config('search_path', ${literal(value)}, false)`;
  }
  return `SET ${setting.name} TO ${literal(value)}`;
}

/**
 * The first forwarded setting the policy refuses, as the reason the connection ends; undefined
 * when every one is allowed. Approval cannot be waited for at startup: such a setting is refused
 * with a hint to SET it after connecting, where the statement can be held.
 */
export function startupPolicyRefusal(
  checks: StartupSetting[],
  checker: StatementChecker,
): CloseReason | undefined {
  for (const s of checks) {
    const v = checker.check(equivalentSet(s), 'startup', () => undefined);
    if (v.allowed) continue;
    const hint = v.hold
      ? 'It needs approval: SET it after connecting, where the statement waits for approval.'
      : 'Leave it out of the startup parameters, or ask for access that allows it.';
    return {
      kind: 'startup-refused',
      code: '42501',
      detail: `startup setting ${s.name} refused: ${v.hold ? 'it needs approval' : v.message}`,
      hint,
    };
  }
  return undefined;
}

/** A SQL string literal (standard_conforming_strings on: only the quote is doubled). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
