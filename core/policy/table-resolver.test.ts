import { describe, expect, it } from 'vitest';
import { parseRelations } from './relations-snapshot.ts';
import { TableResolver, type RelationsSnapshot } from './table-resolver.ts';

const snapshot = (over: Partial<RelationsSnapshot> = {}): RelationsSnapshot => ({
  path: ['$user', 'public'],
  user: 'app',
  schemas: new Map([
    ['pg_catalog', new Set(['pg_class', 'pg_settings'])],
    ['public', new Set(['customers', 'orders', 'pg_class'])],
    ['decoy', new Set(['customers'])],
    ['empty', new Set<string>()],
  ]),
  partial: new Set(),
  truncated: false,
  ...over,
});

function resolver(over: Partial<RelationsSnapshot> = {}) {
  const r = new TableResolver();
  r.useSnapshot(snapshot(over));
  return r;
}
const ids = (r: TableResolver, name: string, schema?: string) => r.resolve(schema, name)?.map((t) => t.id);

describe('table names as the server resolves them', () => {
  it('names the first schema of the path holding the relation, pg_catalog first', () => {
    const r = resolver();
    expect(ids(r, 'customers')).toEqual(['public.customers']);
    expect(ids(r, 'pg_class')).toEqual(['pg_catalog.pg_class']);
    expect(ids(r, 'pg_settings')).toEqual(['pg_catalog.pg_settings']);
    expect(r.resolve(undefined, 'orders')).toEqual([
      { id: 'public.orders', schema: 'public', name: 'orders' },
    ]);
  });

  it('takes a written schema as it is, a temporary schema as pg_temp', () => {
    const r = resolver();
    expect(ids(r, 'customers', 'decoy')).toEqual(['decoy.customers']);
    expect(ids(r, 'x', 'pg_temp_3')).toEqual(['pg_temp.x']);
    expect(r.resolve('a.b', 'c')).toEqual([{ id: '"a.b".c', schema: 'a.b', name: 'c' }]);
  });

  it('resolves a name that exists nowhere to the schema a CREATE would use', () => {
    expect(ids(resolver(), 'nosuch')).toEqual(['public.nosuch']);
    expect(ids(resolver({ path: ['missing', 'empty', 'public'] }), 'nosuch')).toEqual(['empty.nosuch']);
    expect(ids(resolver({ path: [] }), 'nosuch')).toEqual(['pg_catalog.nosuch']);
  });

  it('follows a path that places pg_catalog, and $user', () => {
    expect(ids(resolver({ path: ['public', 'pg_catalog'] }), 'pg_class')).toEqual(['public.pg_class']);
    expect(ids(resolver({ user: 'decoy' }), 'customers')).toEqual(['decoy.customers']);
  });

  it('keeps every search_path the session may have, and says when that changes a name seen before', () => {
    const r = resolver();
    expect(ids(r, 'customers')).toEqual(['public.customers']);
    expect(ids(r, 'orders')).toEqual(['public.orders']);
    expect(r.apply([{ kind: 'search_path', path: ['decoy', 'public'] }])).toBe(true);
    expect(ids(r, 'customers')).toEqual(['public.customers', 'decoy.customers']);
    expect(ids(r, 'orders')).toEqual(['public.orders']);
    // The same path again, or one that changes no name seen: nothing to re-check.
    expect(r.apply([{ kind: 'search_path', path: ['decoy', 'public'] }])).toBe(false);
    expect(r.apply([{ kind: 'search_path', path: ['public'] }])).toBe(false);
  });

  it('follows role changes for $user, and cannot tell after a role it cannot see', () => {
    const r = resolver();
    expect(ids(r, 'customers')).toEqual(['public.customers']);
    expect(r.apply([{ kind: 'role', role: 'decoy' }])).toBe(true);
    expect(ids(r, 'customers')).toEqual(['public.customers', 'decoy.customers']);
    expect(r.apply([{ kind: 'role', role: undefined }])).toBe(true);
    expect(r.resolve(undefined, 'customers')).toBeUndefined();
    expect(ids(r, 'customers', 'public')).toEqual(['public.customers']);
    // A path without $user still resolves.
    const q = resolver({ path: ['public'] });
    q.apply([{ kind: 'role', role: undefined }]);
    expect(ids(q, 'customers')).toEqual(['public.customers']);
  });

  it('searches past a relation or schema that may have been dropped, created or moved', () => {
    const r = resolver({ path: ['decoy', 'public'] });
    expect(ids(r, 'customers')).toEqual(['decoy.customers']);
    expect(r.apply([{ kind: 'relation', schema: 'decoy', name: 'customers' }])).toBe(true);
    expect(ids(r, 'customers')).toEqual(['decoy.customers', 'public.customers']);

    const created = resolver({ path: ['empty', 'public'] });
    expect(ids(created, 'orders')).toEqual(['public.orders']);
    created.apply([{ kind: 'relation', schema: undefined, name: 'orders' }]); // CREATE TABLE orders
    expect(ids(created, 'orders')).toEqual(['empty.orders', 'public.orders']);

    const schema = resolver({ path: ['later', 'public'] });
    schema.apply([{ kind: 'schema', name: 'later' }]);
    expect(ids(schema, 'customers')).toEqual(['later.customers', 'public.customers']);

    const opaque = resolver();
    opaque.apply([{ kind: 'anything' }]);
    expect(ids(opaque, 'customers')).toEqual(['pg_catalog.customers', 'app.customers', 'public.customers']);
  });

  it('treats schemas the bounded read did not finish as holding any name', () => {
    expect(ids(resolver({ partial: new Set(['pg_catalog']) }), 'customers')).toEqual([
      'pg_catalog.customers',
      'public.customers',
    ]);
    expect(ids(resolver({ path: ['unread', 'public'], truncated: true }), 'customers')).toEqual([
      'unread.customers',
      'public.customers',
    ]);
  });

  it('never resolves through pg_temp (a temporary table only shadows a permanent one)', () => {
    expect(ids(resolver({ path: ['pg_temp', 'public'] }), 'customers')).toEqual(['public.customers']);
  });

  it('cannot tell once a session has had too many paths, or before the snapshot', () => {
    const r = resolver();
    for (let i = 0; i < 40; i++) r.apply([{ kind: 'search_path', path: [`s${i}`] }]);
    expect(r.resolve(undefined, 'customers')).toBeUndefined();
    expect(new TableResolver().resolve(undefined, 'customers')).toBeUndefined();
  });
});

describe('the relations snapshot', () => {
  it('reads the path, the user and each schema, marking schemas cut short', () => {
    const snap = parseRelations([
      ['p', '"$user", public', 'app'],
      ['r', 'pg_catalog', 'pg_class', '2'],
      ['r', 'pg_catalog', 'pg_settings', '2'],
      ['r', 'empty', null, '0'],
      ['r', 'public', 'customers', '3'],
    ]);
    expect(snap.path).toEqual(['$user', 'public']);
    expect(snap.user).toBe('app');
    expect([...snap.schemas.keys()]).toEqual(['pg_catalog', 'empty', 'public']);
    expect([...snap.partial]).toEqual(['public']);
    expect(snap.truncated).toBe(false);
    expect(() => parseRelations([])).toThrow(/search_path/);
    expect(() => parseRelations([['p', '"unclosed', 'app']])).toThrow(/search_path/);
  });
});
