/**
 * The scale test's small run (issue 13; the full one is `npm run scale`, scripts/scale-test.ts):
 * 50 concurrent sessions through one connector replica, each querying every second for 10 s,
 * through the real `postern connect` listener; then 20 sessions over two replicas with one
 * SIGKILLed mid-run. Node-postgres clients, each checking every answer is the number it asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFailover, runLoad } from '../../scripts/scale/runs.ts';
import { channelsOpened as channels, startReplicaStack, type ReplicaStack } from './replica-stack.ts';

let rs: ReplicaStack;
let connect: ReplicaStack['connect'];

beforeAll(async () => {
  rs = await startReplicaStack();
  connect = rs.connect;
});

afterAll(async () => {
  await rs?.stop();
});

const replicas = (n: number) => (ids: string[]) => ids.length === n;

describe('scale', () => {
  it('carries 50 concurrent sessions through one connector replica with every query answered', async () => {
    const replica = rs.replica('scale-1');
    await rs.waitForReplicas(replicas(1), 'the replica');

    const r = await runLoad({
      port: connect.port,
      count: 50,
      durationMs: 10_000,
      everyMs: 1000,
      concurrency: 8,
    });

    expect(r.errors).toEqual([]);
    expect(r.opened).toBe(50);
    expect(r.failed).toBe(0);
    // All 50 were open at once for 10 s, querying each second: ~10 queries each.
    for (const s of r.outcomes) {
      expect(s.answered).toBe(s.sent);
      expect(s.sent).toBeGreaterThanOrEqual(5);
    }
    // Each session's channel went through this replica, one channel per session.
    expect(channels(replica)).toBe(50);

    await replica.stop();
    await rs.waitForReplicas(replicas(0), 'the replica to leave');
  }, 240_000);

  it('keeps the survivor’s sessions untouched and opens new ones within 5 s when a replica is SIGKILLed', async () => {
    const a = rs.replica('scale-a');
    const b = rs.replica('scale-b');
    await rs.waitForReplicas(replicas(2), 'two replicas');

    const r = await runFailover({
      port: connect.port,
      count: 20,
      durationMs: 9000,
      everyMs: 1000,
      concurrency: 8,
      killAfterMs: 3000,
      kill: () => a.stop('SIGKILL'),
      channels: () => ({ killed: channels(a), survivor: channels(b) }),
    });

    // Both replicas carried sessions (least loaded first), so the kill cut some and spared some.
    expect(r.atKill.killed + r.atKill.survivor).toBe(20);
    expect(r.atKill.killed).toBeGreaterThan(0);
    expect(r.atKill.survivor).toBeGreaterThan(0);
    // The survivor's sessions went on to the end, every query answered; only the killed
    // replica's sessions failed, and none before the kill.
    expect(r.untouched).toBe(r.atKill.survivor);
    expect(r.shortChanged).toBe(0);
    expect(r.load.failed).toBe(r.atKill.killed);
    expect(r.failedBeforeKill).toBe(0);
    for (const s of r.load.outcomes.filter((o) => o.error === undefined))
      expect(s.sent).toBeGreaterThanOrEqual(5);
    // A correctness deadline, not a benchmark: new sessions work again within 5 s of the kill.
    expect(r.newSessionMs).toBeDefined();
    expect(r.newSessionMs!).toBeLessThanOrEqual(5000);
    expect(r.laterFailures).toEqual([]);
    // Every new session after the kill went through the survivor.
    expect(channels(a)).toBe(r.atKill.killed);
  }, 240_000);
});
