/**
 * Connectors as separate processes: killed and restarted, and two replicas with one killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { psql, type Proc } from './harness.ts';
import { startReplicaStack, type ReplicaStack } from './replica-stack.ts';

let r: ReplicaStack;
let connect: ReplicaStack['connect'];

beforeAll(async () => {
  r = await startReplicaStack();
  connect = r.connect;
});

afterAll(async () => {
  await r?.stop();
});

const replicas = () => r.replicaIds();

describe('connector lifecycle', () => {
  it('says the connector is offline when no replica is connected', async () => {
    expect(await replicas()).toEqual([]);
    const res = await psql(connect.port, 'select 1');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('offline');
  });

  it('serves sessions again after a connector is killed and restarted', async () => {
    const first = r.replica('replica-a');
    await r.waitForReplicas((ids) => ids.includes('replica-a'), 'replica-a to connect');
    expect((await psql(connect.port, 'select 1')).stdout.trim()).toBe('1');

    await first.stop('SIGKILL');
    await r.waitForReplicas((ids) => !ids.includes('replica-a'), 'replica-a to drop');
    const down = await psql(connect.port, 'select 1');
    expect(down.stderr).toContain('offline');

    const again = r.replica('replica-a');
    await r.waitForReplicas((ids) => ids.includes('replica-a'), 'replica-a to reconnect');
    expect((await psql(connect.port, 'select 2')).stdout.trim()).toBe('2');
    await again.stop();
    await r.waitForReplicas((ids) => ids.length === 0, 'replicas to drop');
  });

  it('spreads sessions over two replicas and keeps serving when one dies', async () => {
    const a = r.replica('replica-1');
    const b = r.replica('replica-2');
    await r.waitForReplicas((ids) => ids.length === 2, 'two replicas');

    // Concurrent long-ish sessions so both replicas get work.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => psql(connect.port, `select ${i}, pg_sleep(0.3)`)),
    );
    for (const [i, res] of results.entries()) expect(res.stdout.trim()).toBe(`${i}|`);
    expect(await replicas()).toHaveLength(2);
    const served = (p: Proc) =>
      p.output.filter((l) => l.includes('channel opened') || l.includes('"dial"')).length;
    expect(served(a)).toBeGreaterThan(0);
    expect(served(b)).toBeGreaterThan(0);

    await a.stop('SIGKILL');
    await r.waitForReplicas((ids) => ids.length === 1, 'one replica left');
    for (let i = 0; i < 5; i++) {
      const res = await psql(connect.port, `select ${i} + 100`);
      expect(res.stderr).toBe('');
      expect(res.stdout.trim()).toBe(String(i + 100));
    }
  });
});
