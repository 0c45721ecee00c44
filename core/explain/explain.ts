/**
 * "Try it": the decision a session would make on one SQL statement, SSH request or Kubernetes
 * API request, for a given person on a given connection, made by the very gates sessions use
 * (SqlGate, SshGate, KubeGate) over a compiled policy set, saved or draft. Pure: the Worker
 * (workers/api/policy-explain.ts) compiles the set and decides `connect` as a session's setup does.
 */
import type { CompiledPolicies, Decision } from '../policy/engine.ts';
import { step } from './explain-step.ts';
import type { PolicySubject } from '../policy/principal.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import type { KubeRequest } from '../kube/request.ts';
import type { SshRequest } from '../ssh/ssh-gate.ts';
import { explainKube } from './explain-kube.ts';
import { explainSql } from './explain-sql.ts';
import { explainSsh } from './explain-ssh.ts';
import type { Explanation } from './explain-types.ts';

export type TryRequest =
  | { kind: 'sql'; sql: string; searchPath: string[]; user: string }
  | { kind: 'ssh'; login: string; request?: Exclude<SshRequest, { action: 'ssh:login' }> }
  | { kind: 'kubernetes'; request: KubeRequest };

export interface TryInput {
  policies: CompiledPolicies;
  subject: PolicySubject;
  /** Actions of the time-boxed grants the person is taken to hold (`context.grants`). */
  grants: string[];
  /** The connect decision, made as the session's setup makes it (workers/routes/connect.ts). */
  connect: Decision;
  request: TryRequest;
  /** The SQL parser (WASM), for SQL requests. */
  parser?: SqlParser;
}

export function explain(input: TryInput): Explanation {
  const { policies, subject, connect } = input;
  const first = step(policies, 'connect', subject.connection.id, connect);
  if (connect.effect !== 'allow') {
    // A session is refused before it asks for anything (workers/routes/connect.ts).
    return {
      decision: 'deny',
      message: `not allowed to use connection "${subject.connection.id}" (no policy permits connect)`,
      steps: [first],
      notes: [],
    };
  }
  const grants = () => input.grants;
  const rest = (() => {
    const r = input.request;
    switch (r.kind) {
      case 'sql':
        if (!input.parser) throw new Error('explain: SQL needs the parser');
        return explainSql(policies, subject, grants, input.parser, r);
      case 'ssh':
        return explainSsh(policies, subject, grants, r.login, r.request);
      case 'kubernetes':
        return explainKube(policies, subject, grants, r.request);
    }
  })();
  return { ...rest, steps: [first, ...rest.steps] };
}
