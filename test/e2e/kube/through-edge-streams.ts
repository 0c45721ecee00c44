/**
 * The stream cases of test/e2e/kube/through-edge.test.ts (kept here so the two branches that
 * write them merge simply): `kubectl exec -it` recorded and replayed, `logs -f` masked, `create
 * secret` (a protobuf body) audited without its values, `port-forward` both ways, and a token
 * that expires mid-watch ending the watch. Real kubectl through the whole stack; the cluster is
 * the STAND-IN API server of test/kube/ (the product never depends on it). Ground truth is read
 * from the stand-in (its store and request log) and from the audit trail through the admin API.
 */
import { spawn } from 'node:child_process';
import { createServer, connect as netConnect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { KubeStandIn } from '../../kube/server.ts';
import { clientEnv, waitFor, type TestStack } from '../harness.ts';

/** What the stream cases need to add to the shared stack's connection. */
export const STREAM_POLICY = `
permit(principal in Postern::Group::"demo", action in [
  Postern::Action::"k8s:exec", Postern::Action::"k8s:logs", Postern::Action::"k8s:portforward"
], resource) when { context.namespace == "default" };
`;
/** Output (exec, logs) masked for cards, as a connection naming the detector. */
export const STREAM_CONNECTION = { masking: { columns: [], detectors: { card: 'redact' } } };
/** A client whose tokens live 6 s, in the demo group (a watch outliving its token). */
export const SHORT_CLIENT = { clientId: 'kube-short', groups: ['demo'], ttlSeconds: 6 };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StreamContext {
  stack: TestStack;
  kube: KubeStandIn;
  connection: string;
  dir: string;
  kubectl(
    who: 'demo' | 'admin',
    args: string[],
    opts?: { input?: string; during?: (p: { stdout(): string }) => Promise<void> },
  ): Promise<Run>;
  /** Environment and kubeconfig of `who`, to run kubectl (or script) directly. */
  kubectlEnv(who: 'demo' | 'admin'): Record<string, string>;
  cli(args: string[], env: Record<string, string>): Promise<Run>;
}

interface AuditRow {
  kind: string;
  outcome: string | null;
  data: Record<string, unknown>;
}

/** The events of the sessions on the connection that started since `since` and hold `pred`. */
async function sessionWith(
  c: StreamContext,
  since: number,
  pred: (events: AuditRow[]) => boolean,
): Promise<{ id: string; events: AuditRow[] }> {
  type S = { id: string; startedAt: string };
  let found: { id: string; events: AuditRow[] } | undefined;
  await waitFor(
    async () => {
      const page = await c.stack.admin.get<{ sessions: S[] }>(
        `/sessions?connection=${c.connection}&limit=50`,
      );
      for (const s of page.sessions.filter((x) => Date.parse(x.startedAt) >= since - 1000)) {
        const { events } = await c.stack.admin.get<{ events: AuditRow[] }>(`/sessions/${s.id}/events`);
        if (pred(events)) {
          found = { id: s.id, events };
          return true;
        }
      }
      return false;
    },
    60_000,
    'the session in the audit trail',
  );
  return found!;
}

/** A running program as `during` sees it: its input, and its output so far. */
interface Running {
  write(s: string): void;
  stdout(): string;
  /** Resolves when the program has exited. */
  exited: Promise<void>;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  during: (p: Running) => Promise<void>,
  cwd: string,
) {
  return new Promise<Run>((resolve, reject) => {
    const p = spawn(cmd, args, { env, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    const exited = new Promise<void>((r) => p.once('close', () => r()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    during({ write: (s) => p.stdin.write(s), stdout: () => stdout, exited })
      .then(() => p.stdin.end())
      .catch(reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function streamCases(ctx: () => StreamContext): void {
  describe('kubectl streams through the edge', () => {
    it('runs `kubectl exec -it`; the recording shows what was typed and printed, and postern sessions replay plays it', async () => {
      const c = ctx();
      const since = Date.now();
      const execs = () => c.kube.requests.filter((q) => q.url.includes('/exec')).length;
      const execsBefore = execs();
      // kubectl wants a terminal for -t: script(1) gives it one.
      const r = await run(
        'script',
        ['-qec', `kubectl exec -it web -- sh`, '/dev/null'],
        c.kubectlEnv('demo'),
        async (p) => {
          // Typed once the exec stream is up (kubectl has its terminal in raw mode by then), not
          // after a guessed sleep; typed again if a line still went missing.
          await waitFor(() => execs() > execsBefore, 30_000, 'the exec to reach the API server');
          await waitFor(
            () => {
              // The shell's answer: a line of its own (the pty echoes what was typed after "echo ").
              if (/(^|\n)hello-from-/.test(p.stdout())) return true;
              p.write('echo hello-from-$(hostname)\r');
              return false;
            },
            30_000,
            'the shell to answer',
            1000,
          );
          p.write('exit\r');
          await Promise.race([p.exited, sleep(10_000)]);
        },
        c.dir,
      );
      expect(r.stdout, r.stderr).toContain('hello-from-');
      const { id, events } = await sessionWith(c, since, (e) => e.some((x) => x.kind === 'recording_end'));
      const rec = await c.stack.admin.get<{ asciicast: string; ok: boolean; problems: string[] }>(
        `/sessions/${id}/recording`,
      );
      expect(rec.problems).toEqual([]);
      expect(rec.ok).toBe(true);
      const cast = rec.asciicast
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l) as [number, string, string]);
      const typed = cast
        .filter((e) => e[1] === 'i')
        .map((e) => e[2])
        .join('');
      const printed = cast
        .filter((e) => e[1] === 'o')
        .map((e) => e[2])
        .join('');
      expect(typed).toContain('echo hello-from-$(hostname)');
      expect(printed).toContain('hello-from-');
      expect(events.find((e) => e.kind === 'recording_end')!.data).toMatchObject({ status: 0 });
      const admin = clientEnv(c.stack, c.stack.adminClientId, c.stack.adminClientSecret);
      const played = await c.cli(
        ['sessions', 'replay', id, '--edge', c.stack.edgeUrl, '--speed', '100', '--max-idle', '0.05'],
        admin,
      );
      expect(played.code, played.stderr).toBe(0);
      expect(played.stdout).toContain('echo hello-from-');
    }, 120_000);

    it('masks a card number in `kubectl logs -f`, split across the chunks the container writes', async () => {
      const c = ctx();
      c.kube.writeLog('default', 'web', 'starting\n');
      const r = await c.kubectl('demo', ['logs', '-f', 'web'], {
        during: async () => {
          // Written once the follow is open at the API server, so the two writes reach it as two
          // chunks. (That each line shows while the log is open is the next case's.)
          await waitFor(
            () => c.kube.logFollowers('default', 'web') > 0,
            30_000,
            'the follow to reach the API server',
          );
          c.kube.writeLog('default', 'web', 'paid with 4111 11');
          await sleep(300);
          c.kube.writeLog('default', 'web', '11 1111 1111 ok\n');
          await sleep(500);
          c.kube.endLog('default', 'web');
        },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('starting');
      expect(r.stdout).toMatch(/paid with .+ ok/);
      expect(r.stdout).not.toContain('1111');
    }, 90_000);

    it('shows a line `kubectl logs -f` follows while the log is still open, masked', async () => {
      const c = ctx();
      // A pod of its own: the case above ended web's log.
      c.kube.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'tail', namespace: 'default' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
      });
      c.kube.writeLog('default', 'tail', 'before the follow\n');
      let seenWhileOpen = '';
      const r = await c.kubectl('demo', ['logs', '-f', 'tail'], {
        during: async (p) => {
          await waitFor(
            () => c.kube.logFollowers('default', 'tail') > 0,
            30_000,
            'the follow to reach the API server',
          );
          // Liveness, not speed: each line must reach kubectl's stdout while the log is open
          // (it once showed nothing until the log ended).
          try {
            await waitFor(() => p.stdout().includes('before the follow\n'), 20_000, 'the first line');
            c.kube.writeLog('default', 'tail', 'paid with 4111 1111 1111 1111 while following\n');
            await waitFor(() => p.stdout().includes('while following\n'), 20_000, 'the followed line');
          } finally {
            seenWhileOpen = p.stdout();
            c.kube.endLog('default', 'tail');
          }
        },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(seenWhileOpen).toMatch(/before the follow\npaid with .+ while following\n/);
      expect(seenWhileOpen).not.toContain('1111');
      expect(r.stdout).toMatch(/paid with .+ while following/);
      expect(r.stdout).not.toContain('1111');
    }, 90_000);

    it('creates a secret with `kubectl create secret generic` (a protobuf body); the audit trail holds its keys, not its value', async () => {
      const c = ctx();
      const since = Date.now();
      const value = 'pf-value-9f3a1c77';
      const r = await c.kubectl('demo', [
        'create',
        'secret',
        'generic',
        'made',
        `--from-literal=token=${value}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      // Ground truth: the stand-in got the protobuf body and stored the value.
      const post = [...c.kube.requests]
        .reverse()
        .find((q) => q.method === 'POST' && q.url.includes('/secrets'));
      expect(post?.headers['content-type']).toBe('application/vnd.kubernetes.protobuf');
      expect(Buffer.from(post!.body!).includes(value)).toBe(true);
      const { events } = await sessionWith(c, since, (e) =>
        e.some((x) => x.kind === 'kube_request' && String(x.data['path']).endsWith('/secrets')),
      );
      const text = JSON.stringify(events);
      expect(text).not.toContain(value);
      expect(text).not.toContain(Buffer.from(value).toString('base64'));
      const req = events.find(
        (x) => x.kind === 'kube_request' && String(x.data['path']).endsWith('/secrets'),
      )!;
      const body = req.data['body'] as { body: string; decoded: string };
      expect(body.decoded).toBe('protobuf');
      expect(JSON.parse(body.body)).toMatchObject({
        kind: 'Secret',
        metadata: { name: 'made' },
        data: { token: expect.any(String) },
      });
    }, 90_000);

    it('forwards a port with `kubectl port-forward` (SPDY in a WebSocket), bytes both ways', async () => {
      const c = ctx();
      const echo = createServer((s) => s.pipe(s));
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
      c.kube.exposePort('default', 'web', 8080, (echo.address() as AddressInfo).port);
      const local = await new Promise<number>((r) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => r(p));
        });
      });
      const pf = spawn('kubectl', ['port-forward', 'pod/web', `${local}:8080`, '--address', '127.0.0.1'], {
        env: c.kubectlEnv('demo'),
        cwd: c.dir,
      });
      let said = '';
      pf.stdout.on('data', (b: Buffer) => (said += b.toString()));
      pf.stderr.on('data', (b: Buffer) => (said += b.toString()));
      let answer = '';
      try {
        await waitFor(
          () => said.includes('Forwarding from'),
          30_000,
          `kubectl port-forward to listen (${said})`,
        );
        answer = await new Promise<string>((resolve, reject) => {
          const s = netConnect(local, '127.0.0.1', () => s.write('ping-through-postern'));
          let got = '';
          s.on('data', (b) => {
            got += b.toString();
            if (got.length >= 'ping-through-postern'.length) {
              s.end();
              resolve(got);
            }
          });
          s.on('error', reject);
          setTimeout(() => reject(new Error(`no echo (got "${got}"; kubectl: ${said})`)), 15_000);
        });
      } finally {
        pf.kill('SIGKILL');
        echo.close();
      }
      expect(answer).toBe('ping-through-postern');
    }, 90_000);

    it('ends a watch when its token expires, with a last Status kubectl shows', async () => {
      const c = ctx();
      // The credential plugin reads the OpenID client from the environment when kubectl runs it.
      const short = clientEnv(c.stack, SHORT_CLIENT.clientId, c.stack.extraClients[SHORT_CLIENT.clientId]);
      const started = Date.now();
      const r = await run(
        'kubectl',
        // --raw takes the path from the host: the edge's Kubernetes prefix is part of it. A watch
        // the stand-in would keep for 120 s (its default is 3 s).
        [
          'get',
          '--raw',
          `/v1/kube/${c.connection}/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=120`,
        ],
        { ...c.kubectlEnv('demo'), ...short },
        async () => undefined,
        c.dir,
      );
      const took = Date.now() - started;
      expect(r.code, r.stderr).toBe(0);
      const last = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as {
        type: string;
        object: { reason: string; code: number; message: string };
      };
      expect(last).toMatchObject({ type: 'ERROR', object: { reason: 'Unauthorized', code: 401 } });
      expect(last.object.message).toContain('expired');
      // It ended with the token (6 s), long before the watch's own 120 s.
      expect(took).toBeLessThan(60_000);
    }, 120_000);
  });
}
