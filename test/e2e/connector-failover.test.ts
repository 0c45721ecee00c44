/**
 * Connectors as separate processes: killed and restarted, and two replicas with one killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEnv,
  psql,
  startConnect,
  startConnectorProcess,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let connect: Proc & { port: number };
const procs: Proc[] = [];

beforeAll(async () => {
  stack = await startTestStack({ connector: false });
  connect = await startConnect(stack, 'demo', clientEnv(stack));
});

afterAll(async () => {
  for (const p of procs) await p.stop();
  await connect?.stop();
  await stack?.cleanup();
});

async function replicas(): Promise<string[]> {
  const c = await stack.admin.get<{ replicas: Array<{ replicaId: string }> }>('/connectors/local');
  return c.replicas.map((r) => r.replicaId);
}

describe('connector lifecycle', () => {
  it('says the connector is offline when no replica is connected', async () => {
    expect(await replicas()).toEqual([]);
    const r = await psql(connect.port, 'select 1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('offline');
  });

  it('serves sessions again after a connector is killed and restarted', async () => {
    const first = startConnectorProcess(stack, 'replica-a');
    procs.push(first);
    await waitFor(async () => (await replicas()).includes('replica-a'), 15_000, 'replica-a to connect');
    expect((await psql(connect.port, 'select 1')).stdout.trim()).toBe('1');

    await first.stop('SIGKILL');
    await waitFor(async () => !(await replicas()).includes('replica-a'), 15_000, 'replica-a to drop');
    const down = await psql(connect.port, 'select 1');
    expect(down.stderr).toContain('offline');

    const again = startConnectorProcess(stack, 'replica-a');
    procs.push(again);
    await waitFor(async () => (await replicas()).includes('replica-a'), 15_000, 'replica-a to reconnect');
    expect((await psql(connect.port, 'select 2')).stdout.trim()).toBe('2');
    await again.stop();
    await waitFor(async () => (await replicas()).length === 0, 15_000, 'replicas to drop');
  });

  it('spreads sessions over two replicas and keeps serving when one dies', async () => {
    const a = startConnectorProcess(stack, 'replica-1');
    const b = startConnectorProcess(stack, 'replica-2');
    procs.push(a, b);
    await waitFor(async () => (await replicas()).length === 2, 15_000, 'two replicas');

    // Concurrent long-ish sessions so both replicas get work.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => psql(connect.port, `select ${i}, pg_sleep(0.3)`)),
    );
    for (const [i, r] of results.entries()) expect(r.stdout.trim()).toBe(`${i}|`);
    const loads = await stack.admin.get<{ replicas: Array<{ replicaId: string }> }>('/connectors/local');
    expect(loads.replicas).toHaveLength(2);
    const served = (p: Proc) =>
      p.output.filter((l) => l.includes('channel opened') || l.includes('"dial"')).length;
    expect(served(a)).toBeGreaterThan(0);
    expect(served(b)).toBeGreaterThan(0);

    await a.stop('SIGKILL');
    await waitFor(async () => (await replicas()).length === 1, 15_000, 'one replica left');
    for (let i = 0; i < 5; i++) {
      const r = await psql(connect.port, `select ${i} + 100`);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(String(i + 100));
    }
  });
});
