/**
 * The bench's reference path (issue 13): three plain Node relays shaped like Postern's hops,
 * each its own process as Postern's are (relay-main.ts), in front of the same Postgres:
 * pgbench → tcp-ws → ws-ws → ws-tcp → Postgres. What the transport alone costs on this machine,
 * measured in the same run, so "Postern / relays" says what policy, audit, tokens and the
 * Durable Object add over three hops of plain `ws`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./relay-main.ts', import.meta.url));

/** The role of each relay, in the order pgbench's bytes cross them; labels for proc-cpu.ts. */
export const RELAY_ROLES = ['tcp-ws', 'ws-ws', 'ws-tcp'] as const;

export interface Relays {
  /** Where pgbench connects. */
  port: number;
  stop(): void;
}

function startOne(role: string, nextPort: number, children: ChildProcess[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, role, String(nextPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((res, rej) => {
    child.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim())));
    child.once('exit', (code) => rej(new Error(`relay ${role} exited (${code})`)));
  });
}

/** Starts the three relays back to front, the last one dialling `targetPort`. */
export async function startRelays(targetPort: number): Promise<Relays> {
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  try {
    const c = await startOne('ws-tcp', targetPort, children);
    const b = await startOne('ws-ws', c, children);
    const a = await startOne('tcp-ws', b, children);
    return { port: a, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/** Names a relay process by its role (proc-cpu.ts Labeler), or undefined if it is not one. */
export function relayLabel(cmdline: string): string | undefined {
  if (!cmdline.includes('relay-main.ts')) return undefined;
  const role = RELAY_ROLES.find((r) => cmdline.includes(` ${r} `));
  return role ? `relay ${role}` : undefined;
}
