/**
 * What calling a function does, in the terms statements are classified in: a function that
 * performs what a statement would be classed for is classed the same, so that no action is
 * allowed under a function's spelling that is refused (or held for approval) under the
 * statement's. set_config is SET by another name and is classified by the setting it names
 * (core/sql/setting-statements.ts).
 */
import { ADMIN_FUNCTIONS, hasAdminPrefix } from './admin-functions.ts';
import { OPAQUE_READERS } from './opaque-readers.ts';
import { SIDE_EFFECT_FUNCTIONS } from './side-effect-functions.ts';

export type FunctionAction = 'sql:admin' | 'sql:ddl' | 'sql:session';

/** Functions that are a statement of another class by another name. */
const STATEMENT_FUNCTIONS: Record<string, FunctionAction> = {
  // NOTIFY channel, 'payload' by another name (PostgreSQL documentation, NOTIFY)
  pg_notify: 'sql:session',
  // ALTER SEQUENCE ... RESTART: setval moves the sequence's value for every session
  setval: 'sql:ddl',
};

/** Every function named exactly, with its action: one lookup per call classified. */
const ACTIONS = new Map<string, FunctionAction>([
  ...[...ADMIN_FUNCTIONS, ...OPAQUE_READERS].map((fn) => [fn, 'sql:admin'] as const),
  ...Object.entries(STATEMENT_FUNCTIONS),
]);

/** The action a call of `name` performs besides reading, if any. */
export function functionAction(name: string): FunctionAction | undefined {
  return ACTIONS.get(name) ?? (hasAdminPrefix(name) ? 'sql:admin' : undefined);
}

/**
 * Known functions that have no one-argument form (pg_cron's `schedule(cron, sql)`), so cannot
 * be called in attribute notation; `j.schedule` is the column it commonly is.
 */
const NO_ONE_ARGUMENT_FORM = ['schedule', 'schedule_in_database'];

const KNOWN = new Set([...ACTIONS.keys(), ...SIDE_EFFECT_FUNCTIONS, 'set_config']);
for (const fn of NO_ONE_ARGUMENT_FORM) KNOWN.delete(fn);

/**
 * A function some list of the classifier (or of masking) knows by name: a name in attribute
 * notation, `(x).name` or `t.name`, is taken for a call of it (core/sql/field-selection.ts).
 */
export function isKnownFunction(name: string): boolean {
  return KNOWN.has(name) || hasAdminPrefix(name);
}
