/**
 * The bounds on masking's analysis of one statement (scope.ts): a depth of recursion and a
 * number of steps proportional to the statement's parse tree. Past either, the analysis throws
 * TooDeep and masking refuses the statement (fail closed), so a hostile statement costs work in
 * proportion to its size at most (nested WITH RECURSIVE lists: docs/security.md).
 */
import { TooDeep, type Node } from './taint.ts';

/** A bound on recursion through the tree (a statement this deep is refused by masking). */
const MAX_DEPTH = 3000;
/**
 * A bound on the analysis's work for one statement, in steps per node of its tree: each node is
 * visited a few times, but nested WITH RECURSIVE lists are analysed once per round each, so the
 * work could otherwise grow as the rounds to the power of the nesting. Past it, masking refuses.
 */
const STEPS_PER_NODE = 20;
const MIN_STEPS = 10_000;

/** Depth and steps spent so far, against their bounds; enter() before a node, leave() after. */
export class StepBudget {
  #depth = 0;
  #steps = 0;
  readonly #maxSteps: number;

  /** The budget of the statement `stmt`. */
  constructor(stmt: Node) {
    this.#maxSteps = MIN_STEPS + STEPS_PER_NODE * countNodes(stmt);
  }

  enter(): void {
    if (++this.#depth > MAX_DEPTH || ++this.#steps > this.#maxSteps) throw new TooDeep();
  }

  leave(): void {
    this.#depth--;
  }
}

/** The objects of a parse tree (an explicit stack: the tree may be deep). */
function countNodes(root: Node): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    n++;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else for (const k in v as Node) stack.push((v as Node)[k]);
  }
  return n;
}
