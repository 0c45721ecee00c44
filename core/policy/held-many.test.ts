import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar, nodeSqlParser } from '../../cli/wasm-node.ts';
import type { SqlParser } from '../sql/pg-parser.ts';
import { CompiledPolicies } from './engine.ts';
import { policySubject } from './principal.ts';
import { SqlGate } from './sql-gate.ts';

let parser: SqlParser;
beforeAll(async () => {
  await nodeCedar();
  parser = await nodeSqlParser();
});

describe('a query holding many statements for approval', () => {
  it('is held as one request, not a RangeError (issue 9, finding 8)', () => {
    const policies = CompiledPolicies.compile('held-many', [
      {
        id: 'global/test',
        text: '@approval("dba")\npermit(principal, action, resource);',
      },
    ]);
    const subject = policySubject(
      { issuer: 'https://issuer.test', subject: 'u', groups: [], attributes: {}, expiresAt: 0 },
      'c',
    );
    // 142k statements in the 1 MB a query may have, each held: more than a call takes arguments.
    const verdict = new SqlGate(parser, policies, subject).check('SELECT;'.repeat(142_000));
    expect(verdict).toMatchObject({ allowed: false, outcome: 'approval' });
    // ~2 s on a quiet machine; 43 s when CI shared the two cores with six other jobs.
  }, 120_000);
});
