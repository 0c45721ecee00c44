/**
 * A statement checker for unit tests of StatementFlow and PgSession that reads SQL with the real
 * parser: it allows everything, except that a statement which EXECUTEs a prepared statement the
 * server has not acknowledged yet waits, as the gateway's own checker does (core/pg-session/
 * checker.ts). A test's `rule` may then refuse or hold a statement.
 */
import type { StatementChecker, StatementVerdict } from '../../core/pg-session/checker.ts';
import { classifyTree } from '../../core/sql/classify.ts';
import type { SqlParser } from '../../core/sql/pg-parser.ts';
import type { StatementClass } from '../../core/sql/statement-class.ts';

type Statements = Array<Record<string, unknown>>;
export type CheckRule = (
  sql: string,
  statements: Statements,
  classes: StatementClass[],
) => StatementVerdict | undefined;

export function parsingChecker(parser: SqlParser, rule?: CheckRule): StatementChecker {
  return {
    check(sql, _protocol, prepared): StatementVerdict {
      const tree = parser.parse(sql);
      const statements = tree.stmts!.map((s) => s.stmt as Record<string, unknown>);
      const classes = classifyTree(tree);
      for (const c of classes)
        for (const name of c.executes)
          if (prepared(name) === 'pending') return { allowed: false, message: '', wait: true };
      return rule?.(sql, statements, classes) ?? { allowed: true, message: '', statements, classes };
    },
  };
}

/** Refuses DELETE, as the flow tests' policy does. */
export const noDeletes: CheckRule = (sql) =>
  /^DELETE/i.test(sql) ? { allowed: false, message: 'no deletes' } : undefined;
