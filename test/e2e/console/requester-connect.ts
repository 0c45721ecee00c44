/**
 * What several console case files start from: a demo connection under a policy of their own, and
 * the person "requester" connected to it with `postern connect` on a local port (psql goes
 * there), so what psql asks is the requester's and the approver's page can decide it.
 */
import { addDemoConnection, clientEnv, startConnect, type TestStack } from '../harness.ts';

/** The extra client console.test.ts gives its stack: psql as the person "requester". */
export const REQUESTER_CLIENT = { clientId: 'requester', groups: ['demo'] };

export async function requesterConnect(
  stack: TestStack,
  connection: string,
  policy: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  await addDemoConnection(stack, connection);
  await stack.admin.put(`/connections/${connection}/policies/rules`, { text: policy });
  const c = await startConnect(
    stack,
    connection,
    clientEnv(stack, REQUESTER_CLIENT.clientId, stack.extraClients[REQUESTER_CLIENT.clientId]!),
  );
  return { port: c.port, stop: () => c.stop() };
}
