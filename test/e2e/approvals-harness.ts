/**
 * Shared by the approvals and access-grant end-to-end tests: a stack with approver and requester
 * identities, connections whose policy holds DDL for approval and honours access grants, API
 * calls with each identity's own token, and psql kept open to watch a held statement.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { addDemoConnection, fetchToken, runProgram, startTestStack, type TestStack } from './harness.ts';

export const POLICY = (timeout: string) => `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:insert",
  Postern::Action::"sql:session"
], resource);
@approval("dba")
@approval_timeout("${timeout}")
permit(principal in Postern::Group::"demo", action == Postern::Action::"sql:ddl", resource);
@approval("dba")
@min_approvals("2")
@approval_timeout("${timeout}")
permit(principal in Postern::Group::"demo", action == Postern::Action::"sql:truncate", resource);
// Time-boxed access: whoever holds a "connect" grant may connect and read.
permit(principal, action in [Postern::Action::"connect", Postern::Action::"sql:select"], resource)
  when { context.grants.contains("connect") };
`;

/** The fields of API answers these tests read. */
export interface ApiBody {
  id?: string;
  status?: string;
  grantId?: string | null;
  active?: boolean;
  approvals?: Array<{ id: string }>;
  grants?: Array<{ id: string }>;
  error?: { code: string; message: string };
}

export interface ApprovalsWorld {
  stack: TestStack;
  /** Bearer tokens by role: requester, approver, second (approver), contractor (no groups), admin. */
  tokens: Record<string, string>;
  api(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: ApiBody }>;
  /** One statement straight to the target database, bypassing Postern. */
  direct(sql: string): Promise<string>;
  addConnection(name: string, timeout: string): Promise<void>;
}

export async function approvalsWorld(): Promise<ApprovalsWorld> {
  const stack = await startTestStack({
    extraClients: [
      { clientId: 'second-approver', groups: ['dba'] },
      { clientId: 'contractor', groups: [] },
    ],
  });
  const tokens: Record<string, string> = {
    requester: await fetchToken(stack),
    approver: await fetchToken(stack, stack.approverClientId, stack.approverClientSecret),
    second: await fetchToken(stack, 'second-approver', stack.extraClients['second-approver']!),
    contractor: await fetchToken(stack, 'contractor', stack.extraClients['contractor']!),
    admin: await fetchToken(stack, stack.adminClientId, stack.adminClientSecret),
  };
  return {
    stack,
    tokens,
    async api(who, method, path, body) {
      const res = await fetch(`${stack.edgeUrl}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${tokens[who]}`, 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as ApiBody };
    },
    direct: async (sql) =>
      (await runProgram('psql', [stack.targetDsn, '-X', '-At', '-c', sql])).stdout.trim(),
    async addConnection(name, timeout) {
      await addDemoConnection(stack, name);
      await stack.admin.put(`/connections/${name}/policies/rules`, { text: POLICY(timeout) });
    },
  };
}

/** psql kept open: lines go in one at a time, output is read as it comes. */
export function session(port: number) {
  const child: ChildProcessWithoutNullStreams = spawn(
    'psql',
    [`host=127.0.0.1 port=${port} user=x dbname=y connect_timeout=20`, '-X', '-At'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    out,
    send: (line: string) => child.stdin.write(line + '\n'),
    async waitFor(pred: () => boolean, what: string, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}\n${out.stdout}\n${out.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async requestId(nth = 1): Promise<string> {
      await this.waitFor(
        () => (out.stderr.match(/\(request apr_/g) ?? []).length >= nth,
        `approval notice ${nth}`,
      );
      return [...out.stderr.matchAll(/\(request (apr_[\w-]+)\)/g)][nth - 1]![1]!;
    },
    async close() {
      child.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    },
  };
}
