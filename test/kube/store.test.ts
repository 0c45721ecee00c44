import { describe, expect, it } from 'vitest';
import { findType, type KubeObject } from './resources.ts';
import { Store, type StoreEvent } from './store.ts';

const NS = findType('', 'v1', 'namespaces')!;
const SECRETS = findType('', 'v1', 'secrets')!;
const secret = (name: string, extra: Partial<KubeObject> = {}) =>
  ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, ...extra }) as KubeObject;

function store() {
  const s = new Store();
  s.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  return s;
}

describe('the stand-in store', () => {
  it('turns stringData into base64 data and defaults the type, as the API server does', () => {
    const s = store();
    const o = s.create(
      SECRETS,
      'default',
      secret('a', { stringData: { p: 'hunter2' }, data: { q: 'eA==' } }),
    );
    expect(o).toMatchObject({
      type: 'Opaque',
      data: { q: 'eA==', p: Buffer.from('hunter2').toString('base64') },
    });
    expect(o.stringData).toBeUndefined();
    expect(() => s.create(SECRETS, 'default', secret('b', { data: { p: 'not base64!' } }))).toThrow(
      /illegal base64/,
    );
  });

  it('refuses duplicates, missing namespaces, stale resourceVersions and nameless objects', () => {
    const s = store();
    const a = s.create(SECRETS, 'default', secret('a'));
    expect(() => s.create(SECRETS, 'default', secret('a'))).toThrow(
      expect.objectContaining({ code: 409, reason: 'AlreadyExists' }),
    );
    expect(() => s.create(SECRETS, 'nope', secret('x'))).toThrow(
      expect.objectContaining({ code: 404, message: 'namespaces "nope" not found' }),
    );
    s.update(SECRETS, 'default', 'a', { ...a, type: 'Opaque' });
    expect(() => s.update(SECRETS, 'default', 'a', a)).toThrow(
      expect.objectContaining({ code: 409, reason: 'Conflict' }),
    );
    expect(() => s.create(SECRETS, 'default', secret(''))).toThrow(expect.objectContaining({ code: 422 }));
  });

  it('replays history after a resourceVersion to a watch, then live events; deleting a namespace empties it', () => {
    const s = store();
    const from = Number(s.resourceVersion);
    s.create(SECRETS, 'default', secret('a'));
    const seen: string[] = [];
    const stop = s.watch(from, (e: StoreEvent) =>
      seen.push(`${e.type} ${e.t.plural}/${e.object.metadata.name}`),
    );
    s.delete(NS, undefined, 'default');
    stop();
    s.create(NS, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'later' } });
    expect(seen).toEqual(['ADDED secrets/a', 'DELETED secrets/a', 'DELETED namespaces/default']);
  });

  it('answers 410 Expired to a watch from before the kept history', () => {
    const s = store();
    s.create(SECRETS, 'default', secret('a'));
    for (let i = 0; i < 1001; i++) s.update(SECRETS, 'default', 'a', secret('a', { type: `t${i}` }));
    expect(() => s.watch(1, () => {})).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }));
    expect(() => s.watch(Number(s.resourceVersion) - 5, () => {})).not.toThrow();
  });
});
