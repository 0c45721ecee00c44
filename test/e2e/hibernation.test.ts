/**
 * Idle hibernation end to end (durable-objects/session/session-hibernation.ts, session-wake.ts):
 * real psql and wire clients through `postern connect`, the real connector and Postgres,
 * workerd's own eviction. The SessionDO writes an idle session down IDLE_MS after its last
 * frame and lets its timer go; workerd then evicts the object after its own inactivity timeout
 * (10 s in workerd, PR cloudflare/workerd#1138), keeping both hibernated sockets. The next frame
 * (or RPC, or alarm) wakes a new instance, which must go on with the SAME target connection and
 * with everything the old one enforced. Every case sleeps side by side on one stack, so the
 * file pays for about two evictions, not eight: the attacks are in hibernation-attacks.cases.ts
 * (after a wake) and hibernation-grants.cases.ts (what changes while the session sleeps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addOpenConnection,
  clientEnv,
  runProgram,
  startConnect,
  type Proc,
  type TestStack,
} from './harness.ts';
import { approvalsWorld, type ApprovalsWorld } from './approvals-harness.ts';
import { setUpWakeAttacks, tearDownWakeAttacks, wakeAttackCases } from './hibernation-attacks.cases.ts';
import { grantAttackCases, setUpGrantAttacks, tearDownGrantAttacks } from './hibernation-grants.cases.ts';
import { ASLEEP_MS, wakes } from './hibernation-wait.ts';

let world: ApprovalsWorld;
let stack: TestStack;
let connect: Proc & { port: number };

beforeAll(async () => {
  world = await approvalsWorld();
  stack = world.stack;
  await addOpenConnection(stack, 'sleepy');
  connect = await startConnect(stack, 'sleepy', clientEnv(stack));
  await setUpWakeAttacks(stack);
  await setUpGrantAttacks(world);
}, 240_000);

afterAll(async () => {
  await tearDownGrantAttacks();
  await tearDownWakeAttacks();
  await connect?.stop();
  await stack?.cleanup();
});

describe.concurrent('an idle session', () => {
  it('is evicted by workerd while idle, and the next statement wakes it on the same target connection', async () => {
    const before = wakes(stack);
    const asleepS = Math.ceil(ASLEEP_MS / 1000);
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
        input: ['select pg_backend_pid();', `\\! sleep ${asleepS}`, 'select pg_backend_pid();'].join('\n'),
        timeoutMs: (asleepS + 30) * 1000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pids = r.stdout.trim().split('\n');
    expect(pids).toHaveLength(2);
    expect(pids[1]).toBe(pids[0]);
    // A new instance took THIS session back from storage (the old one's memory was gone); other
    // cases wake theirs meanwhile, so the count alone would not say whose.
    expect(wakes(stack)).toBeGreaterThan(before);
    const { sessions } = (await stack.admin.get('/sessions?connection=sleepy')) as {
      sessions: Array<{ id: string }>;
    };
    expect(sessions).toHaveLength(1);
    const mine = stack.edgeLogs.filter((l) => l.includes('"session woken"') && l.includes(sessions[0]!.id));
    expect(mine.length).toBeGreaterThan(0);
  }, 240_000);

  describe('attack: after a wake', wakeAttackCases);
  describe('attack: while the session sleeps', grantAttackCases);
});
