/**
 * decodeSnapshot against hostile stored text (attack review, session 15): every shape that is not
 * what encodeSnapshot wrote is refused, without throwing, at a cost bounded by MAX_SNAPSHOT_CHARS.
 * The session-level behaviour of a refused snapshot is in session-snapshot.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, MAX_SNAPSHOT_CHARS, type PgSnapshot } from './session-snapshot.ts';

const base: PgSnapshot = {
  v: 1,
  session: 'ses_x',
  clientParams: { user: 'alice', database: 'app' },
  upstreamKey: { processId: 7, secretKey: -3 },
  stats: { bytesFromClient: 10, bytesToClient: 20, statements: 1 },
  catalog: [[['public', null]]],
};
const text = encodeSnapshot(base)!;
const decode = (stored: unknown) => decodeSnapshot(stored, 'ses_x', 1);
/** `text` with one JSON fragment put where `at` is (raw, so `__proto__` is a real own key). */
const edit = (at: string, to: string) => {
  expect(text).toContain(at);
  return text.replace(at, to);
};

describe('decodeSnapshot: hostile text fails closed', () => {
  it('reads back what encodeSnapshot wrote', () => {
    expect(decode(text)).toEqual(base);
  });

  it.each([
    ['__proto__ at the top', edit('{"v":1', '{"__proto__":{"v":1},"v":1')],
    ['__proto__ instead of a field', edit('"v":1', '"__proto__":1')],
    ['__proto__ among client parameters', edit('"clientParams":{', '"clientParams":{"__proto__":"x",')],
    ['__proto__ in the cancel key', edit('"upstreamKey":{', '"upstreamKey":{"__proto__":{},')],
    ['no user', edit('"user":"alice",', '')],
    ['an empty user', edit('"user":"alice"', '"user":""')],
    ['an empty parameter name', edit('"clientParams":{', '"clientParams":{"":"x",')],
    ['a parameter that is not text', edit('"database":"app"', '"database":1')],
    [
      'too many parameters',
      edit(
        '"clientParams":{',
        `"clientParams":{${Array.from({ length: 70 }, (_, i) => `"p${i}":"x"`).join(',')},`,
      ),
    ],
    ['a parameter name too long', edit('"clientParams":{', `"clientParams":{"${'k'.repeat(2000)}":"x",`)],
    ['an Infinity counter (1e400)', edit('"statements":1', '"statements":1e400')],
    ['a fractional counter', edit('"statements":1', '"statements":1.5')],
    ['a counter past 2^53', edit('"statements":1', `"statements":${2 ** 53}`)],
    ['a counter as text', edit('"statements":1', '"statements":"1"')],
    ['NaN (not JSON)', edit('"statements":1', '"statements":NaN')],
    ['a key as text', edit('"processId":7', '"processId":"7"')],
    ['a fractional key', edit('"processId":7', '"processId":7.5')],
    ['the version as text', edit('"v":1', '"v":"1"')],
    ['the catalog as an object', edit('"catalog":[[["public",null]]]', '"catalog":{"0":[]}')],
    ['a row as an object', edit('[["public",null]]', '[{"0":"public"}]')],
    ['a cell as an object', edit('["public",null]', '[{"toString":"x"}]')],
    ['a cell as a number', edit('["public",null]', '[1]')],
    ['null where the catalog is', edit('"catalog":[[["public",null]]]', '"catalog":null')],
    [
      'a catalog nested 300,000 deep',
      edit('"catalog":[[["public",null]]]', `"catalog":${'['.repeat(300_000)}${']'.repeat(300_000)}`),
    ],
    ['a parse that never closes, 900,000 deep', '['.repeat(900_000)],
    ['one character too long', `${text}${' '.repeat(MAX_SNAPSHOT_CHARS - text.length + 1)}`],
  ])('%s', (_, stored) => {
    expect(decode(stored)).toHaveProperty('invalid');
    // Nothing leaked onto Object.prototype on the way.
    expect(({} as Record<string, unknown>)['v']).toBeUndefined();
  });

  it.each([
    ['an object', base],
    ['bytes', new TextEncoder().encode(text)],
    ['null', null],
  ])('refuses %s that is not stored text', (_, stored) => {
    expect(decode(stored)).toEqual({ invalid: 'not a snapshot' });
  });
});
