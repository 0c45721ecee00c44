/**
 * Idle hibernation end to end (durable-objects/session/session-hibernation.ts): real psql
 * through `postern connect`, the real connector and Postgres, workerd's own eviction. The
 * SessionDO writes an idle session down IDLE_MS after its last frame and lets its timer go;
 * workerd then evicts the object after its own inactivity timeout (10 s in workerd, PR
 * cloudflare/workerd#1138), keeping both hibernated sockets. The client's next statement wakes a
 * new instance, which must go on with the SAME target connection (same backend pid), not a
 * new one, and not an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_MS } from '../../durable-objects/session/session-hibernation.ts';
import {
  addOpenConnection,
  clientEnv,
  runProgram,
  startConnect,
  startTestStack,
  type Proc,
  type TestStack,
} from './harness.ts';

let stack: TestStack;
let connect: Proc & { port: number };

beforeAll(async () => {
  stack = await startTestStack();
  await addOpenConnection(stack, 'sleepy');
  connect = await startConnect(stack, 'sleepy', clientEnv(stack));
}, 180_000);

afterAll(async () => {
  await connect?.stop();
  await stack?.cleanup();
});

/** The record's write, then workerd's 10 s inactivity eviction, with room for a loaded machine. */
const ASLEEP_S = Math.ceil(IDLE_MS / 1000) + 20;

describe('an idle psql session', () => {
  it('is evicted by workerd while idle, and the next statement wakes it on the same target connection', async () => {
    const woken = () => stack.edgeLogs.filter((l) => l.includes('"session woken"')).length;
    const before = woken();
    const r = await runProgram(
      'psql',
      [
        `host=127.0.0.1 port=${connect.port} user=x dbname=y sslmode=disable`,
        '-X',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
      ],
      {
        input: ['select pg_backend_pid();', `\\! sleep ${ASLEEP_S}`, 'select pg_backend_pid();'].join('\n'),
        timeoutMs: (ASLEEP_S + 30) * 1000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pids = r.stdout.trim().split('\n');
    expect(pids).toHaveLength(2);
    expect(pids[1]).toBe(pids[0]);
    // A new instance took the session back from storage (the old one's memory was gone).
    expect(woken()).toBeGreaterThan(before);
  }, 240_000);
});
