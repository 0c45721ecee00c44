import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { policyPlaces } from './policy-lines.ts';

beforeAll(async () => {
  await nodeCedar();
});

const P = 'permit(principal, action, resource);';

describe('policyPlaces', () => {
  it('finds each policy at the line it starts on, past comments quoting it', () => {
    const text = `// the old rule was:\n// ${P}\n\n@reason("x")\n${P}\n  ${P}\n`;
    const docs = [
      { id: 'global/a', text: P },
      { id: 'connection/c/b', text },
    ];
    expect(policyPlaces(docs, ['connection/c/b#1', 'connection/c/b#2', 'global/a#1'])).toEqual({
      'global/a#1': { document: 'global/a', line: 1 },
      'connection/c/b#1': { document: 'connection/c/b', line: 4 },
      'connection/c/b#2': { document: 'connection/c/b', line: 6 },
    });
  });

  it('looks up only the documents named', () => {
    expect(policyPlaces([{ id: 'global/a', text: 'not cedar' }], ['global/b#1'])).toEqual({});
  });
});
