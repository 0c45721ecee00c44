/**
 * A Kubernetes exec in the browser (issue 14), on the console test's one stack (`kube: true`: the
 * demo cluster is a STAND-IN API server, test/kube/, and its demo connection): a real
 * `kubectl exec -it` as a DBA (the demo policy lets group dba exec at once), then the session
 * page plays its recording with asciinema-player and the player shows the typed command. A
 * Kubernetes session lives as long as its token, so the page plays an exec that has ended while
 * the session is still live. (kubectl under script(1) sends a 0x0 resize: recorded as nothing,
 * core/ssh/asciicast.ts, or the player would draw a 1x1 screen and show no command.)
 */
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clientEnv, waitFor } from '../harness.ts';
import { kubeConfig } from '../kube/through-edge-harness.ts';
import type { ConsoleFixture } from './browser.ts';

/** The extra client console.test.ts gives its stack: kubectl as a DBA. */
export const KUBE_DBA_CLIENT = { clientId: 'kube-dba', groups: ['dba'] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function kubeCases(fx: () => ConsoleFixture): void {
  it('a Kubernetes exec recording plays in the session page: the player shows the typed command', async () => {
    const stack = fx().stack;
    const kube = stack.kube;
    if (!kube || !('front' in kube))
      throw new Error(`the console stack has no demo cluster: ${JSON.stringify(kube)}`);
    const env = clientEnv(stack, KUBE_DBA_CLIENT.clientId, stack.extraClients[KUBE_DBA_CLIENT.clientId]!);
    // kubeConfig trusts <dir>/edge-ca.pem: the TLS front's CA.
    copyFileSync(kube.frontCaFile, join(stack.dir, 'edge-ca.pem'));
    const kubeconfig = join(stack.dir, 'kubeconfig-console');
    const made = await kubeConfig(
      {
        connection: kube.connection,
        edgeUrl: stack.edgeUrl,
        frontUrl: kube.front.url,
        dir: stack.dir,
        kubeconfig,
      },
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    const since = Date.now();
    const execs = () => kube.standIn.requests.filter((q) => q.url.includes('/exec')).length;
    const execsBefore = execs();
    // kubectl wants a terminal for -t: script(1) gives it one.
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('script', ['-qec', 'kubectl exec -it -n staging web-7c9f8d-xkqzv -- sh', '/dev/null'], {
        env: { PATH: process.env['PATH'] ?? '', HOME: stack.dir, KUBECONFIG: kubeconfig, ...env },
        cwd: stack.dir,
      });
      let text = '';
      p.stdout.on('data', (b: Buffer) => (text += b.toString()));
      p.stderr.on('data', (b: Buffer) => (text += b.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.on('error', reject);
      p.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      const exited = new Promise((r) => p.once('close', r));
      void (async () => {
        // Typed once the exec stream is up and again until the shell answers (a line of its own),
        // not after guessed sleeps; then exit, and end the input once script has gone.
        await waitFor(() => execs() > execsBefore, 30_000, 'the exec to reach the API server');
        await waitFor(
          () => {
            if (/(^|\n)console-kube-typed/.test(text)) return true;
            p.stdin.write('echo console-kube-typed\r');
            return false;
          },
          30_000,
          'the shell to answer',
          1000,
        );
        p.stdin.write('exit\r');
        await Promise.race([exited, sleep(10_000)]);
        p.stdin.end();
      })().catch(reject);
    });
    // The stand-in's shell answers the echo (it is no real shell: no expansion).
    expect(out).toMatch(/console-kube-typed\r?\n[^]*console-kube-typed/);
    let id = '';
    await waitFor(
      async () => {
        const r = (await stack.admin.get(`/sessions?connection=${kube.connection}&limit=20`)) as {
          sessions: Array<{ id: string; startedAt: string }>;
        };
        for (const s of r.sessions.filter((x) => Date.parse(x.startedAt) >= since - 1000)) {
          const ev = (await stack.admin.get(`/sessions/${s.id}/events`)) as {
            events: Array<{ kind: string }>;
          };
          if (ev.events.some((e) => e.kind === 'recording_end')) id = s.id;
        }
        return id !== '';
      },
      60_000,
      'the exec session with its recording in the audit trail',
    );
    const { page, context } = await fx().signIn('admin', { hash: `#/sessions/${id}` });
    try {
      await page.waitForSelector('[data-testid="player"]', { timeout: 20_000 });
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="player"]')?.textContent?.includes('echo console-kube-typed'),
        { timeout: 30_000 },
      );
      await fx().shot(page, 'session-kube-exec-recording');
    } finally {
      await context.close();
    }
  }, 150_000);
}
