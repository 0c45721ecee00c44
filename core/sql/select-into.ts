type Node = Record<string, unknown>;

/** Deeper than any set operation the parser accepts (its own stack limit ends it far sooner). */
const MAX_ARMS = 10_000;

/**
 * The INTO clause of a SELECT that stores its rows in a new table, or undefined. In a set
 * operation the parser keeps INTO on the leftmost arm (`SELECT a INTO t FROM x UNION SELECT b`),
 * which is where the server takes it from (parse_analyze.c `transformSetOperationStmt`); the arms
 * are bare SelectStmt bodies, so a walk looking for `SelectStmt` keys never sees it.
 */
export function selectInto(select: Node): Node | undefined {
  let node: Node | undefined = select;
  for (let arms = 0; node && arms < MAX_ARMS; arms++) {
    const into = node['intoClause'];
    if (into !== null && typeof into === 'object') return into as Node;
    node = node['larg'] as Node | undefined;
  }
  // Deeper than any real statement: taken as storing rows, the safe reading.
  return node ? {} : undefined;
}
