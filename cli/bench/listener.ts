/**
 * `postern connect <connection>` as its own process, as a user runs it: the listeners every
 * Postgres row of `postern bench` measures through. The caller stops them (Listeners.stopAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Stack } from '../dev/stack.ts';
import { freePort } from '../dev/free-port.ts';

/** A running `postern connect`: its local port and how to stop it. */
export interface Listener {
  port: number;
  pid: number;
  stop: () => void;
}

/** Opens listeners for one stack and token, and stops all of them at the end of the run. */
export class Listeners {
  readonly #children: ChildProcess[] = [];
  constructor(
    private readonly root: string,
    private readonly stack: Stack,
    private readonly token: string,
    /** Node flags for each listener (scripts/perf-harness.ts profiles it: CONNECT_NODE_ARGS). */
    private readonly nodeArgs: string[] = [],
  ) {}

  /** Starts `postern connect <connection>` and resolves once it says it is listening. */
  open = async (connection: string): Promise<Listener> => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        ...this.nodeArgs,
        join(this.root, 'cli', 'bin', 'postern.mjs'),
        'connect',
        connection,
        '--edge',
        this.stack.edgeUrl,
        '--port',
        String(port),
        '--json',
      ],
      { env: { ...process.env, POSTERN_TOKEN: this.token }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#children.push(child);
    await new Promise<void>((res, rej) => {
      child.stdout!.once('data', () => res());
      child.once('exit', (code) => rej(new Error(`postern connect exited (${code})`)));
    });
    return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
  };

  stopAll(): void {
    for (const c of this.#children) c.kill('SIGTERM');
  }
}
