/**
 * The idle watch and the record's reading back (durable-objects/session/session-hibernation.ts)
 * on their own, with fake timers and a storage that records what was asked of it: one put per
 * idle spell at most, none while frames flow, the record deleted before anything changes it,
 * and a record that is not exactly ours never read back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  HIBERNATED_KEY,
  IDLE_MS,
  IdleWatch,
  readHibernated,
  type Hibernated,
  type IdleRecord,
} from '../../durable-objects/session/session-hibernation.ts';
import { sessionStart } from './session-world.ts';

afterEach(() => vi.useRealTimers());

const SID = 'a'.repeat(64);
const RECORD: Hibernated = {
  v: 1,
  start: sessionStart(SID, 'con_x'),
  grants: [{ id: 'g1', action: 'write', expiresAt: 1e13 }],
  key: { processId: 1, secretKey: 2 },
  record: { id: SID } as Hibernated['record'],
  renewAt: 1e13,
  audit: { seq: 3, head: 'f'.repeat(64), refusals: 0 },
  module: '{}',
};

function storage() {
  const ops: string[] = [];
  let hold: Promise<void> = Promise.resolve();
  return {
    ops,
    holdPuts(p: Promise<void>) {
      hold = p;
    },
    put: async (k: string) => {
      ops.push(`put ${k}`);
      await hold;
    },
    delete: async (k: string) => {
      ops.push(`delete ${k}`);
      return true;
    },
  };
}

function watch(answer: () => IdleRecord) {
  const st = storage();
  const w = new IdleWatch(st as unknown as DurableObjectStorage, answer);
  return { st, w };
}

describe('the idle watch', () => {
  it('writes nothing while frames flow, and one record once the session was quiet IDLE_MS', async () => {
    vi.useFakeTimers();
    const { st, w } = watch(() => RECORD);
    for (let i = 0; i < 50; i++) {
      w.active();
      await vi.advanceTimersByTimeAsync(IDLE_MS / 5);
    }
    expect(st.ops).toEqual([]);
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(st.ops).toEqual([`put ${HIBERNATED_KEY}`]);
    // Let go: no timer pending, nothing more written however long it sleeps.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * IDLE_MS);
    expect(st.ops).toHaveLength(1);
  });

  it('deletes the record at the first frame after it, and writes again only after the next quiet spell', async () => {
    vi.useFakeTimers();
    const { st, w } = watch(() => RECORD);
    w.active();
    await vi.advanceTimersByTimeAsync(IDLE_MS + 1);
    w.active();
    w.active();
    expect(st.ops).toEqual([`put ${HIBERNATED_KEY}`, `delete ${HIBERNATED_KEY}`]);
    await vi.advanceTimersByTimeAsync(IDLE_MS + 1);
    expect(st.ops).toEqual([`put ${HIBERNATED_KEY}`, `delete ${HIBERNATED_KEY}`, `put ${HIBERNATED_KEY}`]);
  });

  it('keeps a timer pending while the session is busy (the object stays in memory), and writes once it is not', async () => {
    vi.useFakeTimers();
    let busy = true;
    const { st, w } = watch(() => (busy ? 'again' : RECORD));
    w.active();
    await vi.advanceTimersByTimeAsync(5 * IDLE_MS);
    expect(st.ops).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    busy = false;
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(st.ops).toEqual([`put ${HIBERNATED_KEY}`]);
  });

  it('drops a record that a frame overtook during its put, and watches on', async () => {
    vi.useFakeTimers();
    const { st, w } = watch(() => RECORD);
    let release!: () => void;
    st.holdPuts(new Promise((r) => (release = r)));
    w.active();
    await vi.advanceTimersByTimeAsync(IDLE_MS + 1);
    w.active(); // during the put
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(st.ops).toEqual([`put ${HIBERNATED_KEY}`, `delete ${HIBERNATED_KEY}`]);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('after the end: deletes the record and never writes one', async () => {
    vi.useFakeTimers();
    const { st, w } = watch(() => RECORD);
    w.active();
    w.stop();
    await vi.advanceTimersByTimeAsync(5 * IDLE_MS);
    expect(st.ops).toEqual([`delete ${HIBERNATED_KEY}`]);
  });
});

describe('a hibernated record read back', () => {
  it('is taken as written for its own session', () => {
    expect(readHibernated(structuredClone(RECORD), SID)).toEqual(RECORD);
  });

  const spoiled: Array<[string, (r: Record<string, unknown>) => void]> = [
    ['another version', (r) => (r['v'] = 2)],
    ['another session', (r) => ((r['start'] as Record<string, unknown>)['sessionId'] = 'b'.repeat(64))],
    ["another session's record row", (r) => ((r['record'] as Record<string, unknown>)['id'] = 'x')],
    ['a grant of the wrong shape', (r) => (r['grants'] = [{ id: 'g1', action: 1, expiresAt: 0 }])],
    ['a cancel key that is not integers', (r) => (r['key'] = { processId: 1.5, secretKey: 2 })],
    ['a chain head that is not a hash', (r) => ((r['audit'] as Record<string, unknown>)['head'] = 'zz')],
    ['a chain that never began', (r) => ((r['audit'] as Record<string, unknown>)['seq'] = 0)],
    ['no module snapshot', (r) => delete r['module']],
    ['no lease time', (r) => (r['renewAt'] = Number.NaN)],
  ];
  for (const [what, spoil] of spoiled) {
    it(`is refused with ${what}`, () => {
      const r = structuredClone(RECORD) as unknown as Record<string, unknown>;
      spoil(r);
      expect(typeof readHibernated(r, SID)).toBe('string');
    });
  }
  it('is refused when missing or not an object', () => {
    for (const v of [undefined, null, 'text', [RECORD]]) expect(typeof readHibernated(v, SID)).toBe('string');
  });
});
