import { beforeAll, describe, expect, it } from 'vitest';
import { nodeSqlParser } from '../../cli/wasm-node.ts';
import { classifyTree } from './classify.ts';
import type { SqlParser } from './pg-parser.ts';

let parser: SqlParser;
beforeAll(async () => {
  parser = await nodeSqlParser();
});

const classify = (sql: string) => {
  const c = classifyTree(parser.parse(sql))[0]!;
  return { actions: [...c.actions.keys()].sort(), refusal: c.refusal, changes: c.namespaceChanges };
};

/** What pg_dump 15.8+/16.4+/17 runs right after connecting (pg_backup_db.c). */
const PG_DUMP =
  "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'";

describe("pg_dump's set_config over pg_settings", () => {
  it('is set_config of the setting its WHERE pins: a session command', () => {
    const c = classify(PG_DUMP);
    expect(c.refusal).toBeUndefined();
    expect(c.actions).toEqual(['sql:select', 'sql:session']);
    // The value, were it another setting's, is kept as a possible search_path and role.
    expect(c.changes).toEqual([
      { kind: 'role', role: 'view, foreign-table' },
      { kind: 'search_path', path: ['view', 'foreign-table'] },
    ]);
    expect(
      classify(PG_DUMP.replace('FROM pg_settings', 'FROM pg_catalog.pg_settings')).refusal,
    ).toBeUndefined();
    expect(classify(PG_DUMP.replace('false', 'true')).refusal).toBeUndefined();
  });

  it('is refused in any other form: the setting name is not pinned to the reviewed one', () => {
    for (const sql of [
      PG_DUMP.replace("'restrict_nonsystem_relation_kind'", "'search_path'"),
      PG_DUMP.replace("'view, foreign-table'", "'evil'"),
      PG_DUMP + ' OR true',
      PG_DUMP.replace('WHERE name =', 'WHERE name <>'),
      PG_DUMP.replace('FROM pg_settings', 'FROM public.pg_settings'),
      PG_DUMP.replace('FROM pg_settings', 'FROM pg_settings s'),
      PG_DUMP.replace('FROM pg_settings', 'FROM pg_settings, (VALUES (1)) v'),
      PG_DUMP + ' UNION ALL SELECT 1',
      PG_DUMP.replace('WHERE name', 'WHERE setting'),
      PG_DUMP.replace('set_config(name', 'set_config(lower(name)'),
      PG_DUMP + ' GROUP BY name',
      "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings",
    ])
      expect(classify(sql).refusal, sql).toMatch(/set_config needs the setting name as a literal/);
  });
});
