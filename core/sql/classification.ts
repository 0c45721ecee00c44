/**
 * One statement's classification while its parse tree is walked (classify.ts): the
 * StatementClass being built and how each finding is recorded in it (an action on a table, a
 * relation named, a DML target, a function called, a setting changed, a refusal). The handlers
 * of each statement family (classify-reads-writes.ts, classify-settings.ts,
 * classify-utility.ts) record through it, so every finding is recorded one way.
 */
import { functionAction, isKnownFunction } from './function-actions.ts';
import type { NamespaceChange } from './namespace-changes.ts';
import { setConfigEffect, type SettingEffect } from './setting-statements.ts';
import type { SqlAction, StatementClass } from './statement-class.ts';
import { tableName } from './table-names.ts';

export type Node = Record<string, unknown>;

const PG_SETTINGS_WRITE =
  'statement refused: writing to pg_settings runs set_config for each row, which can change how the server reads SQL; Postern cannot check which settings it changes';

export class Classification {
  readonly result: StatementClass;
  /** The CTE names visible where the walk is: one set per enclosing WITH (innermost last). */
  readonly cteScopes: Set<string>[] = [];
  /** The DML/COPY target relations: written, and read only where target-reads.ts says so. */
  readonly targets = new WeakSet<object>();
  /** Every relation named that is not a CTE reference, in walk order (see finish()). */
  readonly rangeVars: Node[] = [];
  /** set_config calls whose setting name the statement pins (pg_dump's: settings-lookup.ts). */
  readonly pinned = new WeakSet<object>();
  // Every relation a DML statement names besides its target is read (UPDATE ... FROM, DELETE
  // ... USING, MERGE ... USING), SELECT or not.
  reads = false;

  constructor(kind: string, stmt: Node) {
    this.result = {
      kind,
      actions: new Map(),
      tables: new Set(),
      names: new Map(),
      functions: new Set(),
      hasWhere: true,
      executes: [],
      node: stmt,
    };
  }

  add(action: SqlAction, table?: string): void {
    let set = this.result.actions.get(action);
    if (!set) this.result.actions.set(action, (set = new Set()));
    if (table !== undefined) set.add(table);
  }

  /** A relation named by the statement: recorded with its parts, returned as its key. */
  table(rv: Node): string {
    const t = tableName(rv);
    const c = this.result;
    c.tables.add(t);
    if (!c.names.has(t)) {
      const schema = rv['schemaname'];
      c.names.set(t, {
        schema: schema === undefined ? undefined : String(schema),
        name: String(rv['relname'] ?? ''),
      });
    }
    return t;
  }

  refuse(why: string): void {
    this.result.refusal ??= why;
  }

  change(changes: NamespaceChange[] | undefined): void {
    if (changes) (this.result.namespaceChanges ??= []).push(...changes);
  }

  setting(effect: SettingEffect): void {
    this.result.byValue = true;
    if (effect.refusal) this.refuse(effect.refusal);
    if (effect.action) this.add(effect.action);
    if (effect.change) this.change([effect.change]);
  }

  /** A DML target: written (read too only where target-reads.ts says so). */
  target(rel: Node | undefined): string | undefined {
    if (!rel) return undefined;
    this.targets.add(rel);
    // pg_settings' rules call set_config for each row written (system_views.sql): refused like
    // set_config with a name Postern cannot see.
    if (String(rel['relname']) === 'pg_settings') this.refuse(PG_SETTINGS_WRITE);
    return this.table(rel);
  }

  /** A call of function `fn` (by a FuncCall, or in attribute notation: `call` undefined). */
  called(fn: string, call: Node | undefined): void {
    this.result.functions.add(fn);
    const action = functionAction(fn);
    if (action) this.add(action);
    // In attribute notation set_config has one argument, so no literal setting name: refused.
    if (fn === 'set_config' && !(call && this.pinned.has(call))) this.setting(setConfigEffect(call ?? {}));
  }

  /** A possible call in attribute notation (field-selection.ts): only of functions known by name. */
  readonly calledByFieldSelection = (fn: string): void => {
    if (isKnownFunction(fn)) this.called(fn, undefined);
  };

  /**
   * A relation name refers to a CTE only where PostgreSQL would resolve it to one
   * (parse_relation.c `scanNameSpaceForCTE`): unqualified, and named by a WITH enclosing it.
   */
  isCteReference(rv: Node): boolean {
    return (
      rv['schemaname'] === undefined &&
      rv['catalogname'] === undefined &&
      this.cteScopes.some((scope) => scope.has(String(rv['relname'])))
    );
  }

  /** The class, once the whole tree has been walked. */
  finish(): StatementClass {
    const c = this.result;
    // Tables read: every relation named that is not a CTE reference, except the DML/COPY targets
    // (after the walk, which is what finds whether anything is read at all).
    for (const rv of this.rangeVars) {
      const name = this.table(rv);
      if (this.reads && !this.targets.has(rv)) this.add('sql:select', name);
    }
    if (c.actions.size === 0 && c.kind !== 'SelectStmt' && c.executes.length === 0) this.add('sql:admin');
    return c;
  }
}
