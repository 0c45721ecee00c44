/**
 * What "try it" (the policy editor's explain box, workers/api/policy-explain.ts) answers: the
 * decision a session would make on one request, and every Cedar decision behind it, each with
 * the policies that permitted, forbade or held it and their `@reason`s.
 */
import type { ApprovalRequirement } from '../policy/engine.ts';

/** One Cedar decision: `connect` first, then what the request asks for. */
export interface ExplainStep {
  action: string;
  /** The connection, or for SQL the table the action is on (as policy saw it). */
  resource: string;
  effect: 'allow' | 'deny' | 'approval';
  /**
   * allow: the permits that were satisfied; deny: the forbids that were (empty: no permit
   * applied, Cedar's default deny); approval: the `@approval` permits that held it.
   */
  policies: string[];
  /** The `@reason`s of those policies, cleaned (core/policy/refusal-text.ts). */
  reasons: string[];
}

/**
 * `unsafe` and `unparsable`: refused before policy (the request cannot be read as the target
 * would read it); `deny` includes a denied `connect`.
 */
export type ExplainOutcome = 'allow' | 'deny' | 'approval' | 'unsafe' | 'unparsable';

export interface Explanation {
  decision: ExplainOutcome;
  /** What the client would read: the refusal or the hold notice ('' when allowed). */
  message: string;
  steps: ExplainStep[];
  /** decision 'approval': who must approve, how many, how long the request waits. */
  approval?: ApprovalRequirement & { policies: string[]; reasons: string[] };
  /** What try-it could not see that a live session would (e.g. the target's catalog). */
  notes: string[];
}
