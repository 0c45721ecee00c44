import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { forwardConnectorLog } from './stack-connector.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

// A process that logs as the connector does (connector/log.ts, to a stderr pipe): many info
// lines, one warning, one line that is not JSON (a crash would print its stack so), then exits.
const CHILD = `
import { jsonLog } from ${JSON.stringify(join(ROOT, 'connector', 'log.ts'))};
const sessionId = 'a'.repeat(64);
for (let i = 0; i < 20000; i++) jsonLog('info', 'dial', { sessionId, protocol: 'postgres', i });
jsonLog('warn', 'edge silent; reconnecting', { silentMs: 16000 });
process.stderr.write('TypeError: not a log line\\n');
for (let i = 0; i < 100; i++) jsonLog('info', 'channel opened', { sessionId, i });
`;

describe('forwardConnectorLog', () => {
  it('keeps a connector that logs megabytes running, and forwards only what matters', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const forwarded: string[] = [];
    forwardConnectorLog(child.stderr, (m) => forwarded.push(m));
    // ~2.5 MB on stderr: far past a pipe's buffer. A reader that does not drain it leaves the
    // child blocked in write() for ever (the bench's "session setup" hang).
    const exit = await new Promise<number | null | 'blocked'>((res) => {
      const timer = setTimeout(() => res('blocked'), 20_000);
      // 'close': the process has exited and its stderr is read to the end.
      child.once('close', (code) => {
        clearTimeout(timer);
        res(code);
      });
    });
    if (exit === 'blocked') child.kill('SIGKILL');
    expect(exit).toBe(0);
    expect(forwarded).toEqual([
      'connector warn: edge silent; reconnecting {"silentMs":16000}',
      'connector: TypeError: not a log line',
    ]);
  }, 30_000);
});
