import { describe, expect, it } from 'vitest';
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';

describe('PATCH bodies', () => {
  it('json merge patch follows RFC 7386 (null deletes, arrays replace)', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      l: [3],
    });
  });

  it('json patch follows RFC 6902 and refuses a missing path or a failed test', () => {
    const doc = { data: { a: '1' }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'replace', path: '/data/a', value: '2' },
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'copy', from: '/data/a', path: '/data/b' },
        { op: 'remove', path: '/list/0' },
      ]),
    ).toEqual({ data: { a: '2', b: '2' }, list: [2, 3] });
    expect(doc).toEqual({ data: { a: '1' }, list: [1, 2] });
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope/x' }])).toThrow(/missing/);
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/data/a', value: 'x' }])).toThrow(/testing value/);
  });

  it('strategic merge patch merges containers and env by name and honours its directives', () => {
    const target = {
      spec: {
        containers: [
          {
            name: 'api',
            image: 'a:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'side', image: 's:1' },
        ],
        finalizers: ['x'],
      },
    };
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'side' }, { name: 'api' }],
        containers: [
          {
            name: 'api',
            env: [
              { name: 'A', value: '9' },
              { name: 'B', $patch: 'delete' },
            ],
          },
        ],
        finalizers: ['y'],
      },
    };
    expect(strategicMergePatch(target, patch)).toEqual({
      spec: {
        containers: [
          { name: 'side', image: 's:1' },
          { name: 'api', image: 'a:1', env: [{ name: 'A', value: '9' }] },
        ],
        finalizers: ['x', 'y'],
      },
    });
    expect(strategicMergePatch({ m: { a: 1, b: 2 } }, { m: { $patch: 'replace', c: 3 } })).toEqual({
      m: { c: 3 },
    });
    expect(strategicMergePatch({ m: { a: 1, b: 2 } }, { m: { $retainKeys: ['a'], a: 5 } })).toEqual({
      m: { a: 5 },
    });
  });

  it('answers 415 for a patch type it does not speak (server-side apply)', () => {
    expect(() => applyPatch('application/apply-patch+yaml', {}, {})).toThrow(
      expect.objectContaining({ code: 415 }),
    );
  });
});
