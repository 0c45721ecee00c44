/**
 * A stack whose connector replicas run as separate processes that the caller starts and kills,
 * with a `postern connect` listener for the demo connection: the setup connector-failover.test.ts,
 * scale.test.ts and scripts/scale-test.ts share.
 */
import {
  clientEnv,
  startConnect,
  startConnectorProcess,
  startTestStack,
  waitFor,
  type Proc,
  type TestStack,
} from './harness.ts';

export interface ReplicaStack {
  stack: TestStack;
  connect: Proc & { port: number };
  /** Starts `postern connector --replica-id <id>`; stop() stops it if it still runs. */
  replica(id: string): Proc;
  /** The replica ids the edge lists for the `local` connector now. */
  replicaIds(): Promise<string[]>;
  /** Waits (up to 20 s) until the edge's list of replicas satisfies `ok`. */
  waitForReplicas(ok: (ids: string[]) => boolean, what: string): Promise<void>;
  /** The replicas, the listener, then the stack. */
  stop(): Promise<void>;
}

export async function startReplicaStack(
  opts: { pgSettings?: Record<string, string> } = {},
): Promise<ReplicaStack> {
  const stack = await startTestStack({ connector: false, ...opts });
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
    await stack.cleanup();
  };
  try {
    const connect = await startConnect(stack, 'demo', clientEnv(stack));
    procs.push(connect);
    const replicaIds = async () => {
      const c = await stack.admin.get<{ replicas: Array<{ replicaId: string }> }>('/connectors/local');
      return c.replicas.map((r) => r.replicaId);
    };
    return {
      stack,
      connect,
      replica(id) {
        const p = startConnectorProcess(stack, id);
        procs.push(p);
        return p;
      },
      replicaIds,
      waitForReplicas: (ok, what) => waitFor(async () => ok(await replicaIds()), 20_000, what),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** How many data channels a replica opened (one per session it carried), from its log. */
export const channelsOpened = (p: Proc): number =>
  p.output.filter((l) => l.includes('"channel opened"')).length;
