/**
 * Where a masked value could leave a statement other than in its result rows, which masking
 * rewrites: into a table (INSERT ... SELECT email, UPDATE ... SET note = email, MERGE, CREATE
 * TABLE AS, SELECT INTO, a view), a server file (COPY ... TO 'file' / PROGRAM), or the argument
 * of a function whose effect outlives the statement (a NOTIFY payload, a setting, a large
 * object, a sequence, an advisory lock key) or whose code the gateway cannot see (a user-defined
 * function or procedure). Any of those, and the value is read back later in clear, or by someone
 * else. The analysis that finds them follows values as the server resolves names (scope.ts), so
 * renaming a column does not hide it. Statements doing so are refused while masking is on
 * (docs/masking.md, "Side channels").
 */
import type { MaskedColumns } from './lineage.ts';

export { SIDE_EFFECT_FUNCTIONS } from '../sql/side-effect-functions.ts';

type Node = Record<string, unknown>;

/**
 * Why statement `stmt` would carry a masked value somewhere masking cannot follow, if it would;
 * `sink` is what its analysis found (lineage.ts `analyzeStatement`).
 */
export function maskedSink(stmt: Node, masked: MaskedColumns, sink: string | undefined): string | undefined {
  if (masked.size === 0) return undefined;
  switch (Object.keys(stmt)[0]) {
    case 'DoStmt':
      return 'DO blocks run code Postern cannot see into; they are refused while columns are masked';
    case 'CreateFunctionStmt':
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'CreateEventTrigStmt':
      // Their code would run later where masking cannot see it (as a function it never knew).
      return 'creating functions, procedures, triggers or rules is refused while columns are masked';
  }
  return sink;
}
