/**
 * More cases of test/e2e/kube/through-edge.test.ts, on its shared stack (issue 12): `kubectl
 * describe`, `api-resources` and `cp` both ways; the official `@kubernetes/client-node` with the
 * caller's token; `postern sessions list|verify` on a Kubernetes session that has ended; and
 * `<connection>.<BASE_DOMAIN>` routing. Ground truth is read from the stand-in API server (its
 * request log, store and pod file systems) and from the control plane.
 */
import { request } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findType } from '../../kube/resources.ts';
import type { KubeStandIn } from '../../kube/server.ts';
import { clientEnv, fetchToken, waitFor, type TestStack } from '../harness.ts';
import { SHORT_CLIENT } from './through-edge-streams.ts';

/** The base domain the shared stack's edge is given (BASE_DOMAIN). */
export const BASE_DOMAIN = 'kube.postern.test';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ClientsContext {
  stack: TestStack;
  kube: KubeStandIn;
  connection: string;
  dir: string;
  /** The TLS relay in front of the edge (kubectl and client-node send tokens over TLS only). */
  frontUrl: string;
  frontCaPem: string;
  kubectl(who: 'demo' | 'admin', args: string[]): Promise<Run>;
  cli(args: string[], env: Record<string, string>): Promise<Run>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One plain HTTP request to the edge with the Host header given (no DNS for the base domain here). */
function hostRequest(edgeUrl: string, host: string, path: string, token: string) {
  const u = new URL(edgeUrl);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: 'GET',
        headers: { Host: host, Authorization: `Bearer ${token}`, Accept: 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export function clientCases(ctx: () => ClientsContext): void {
  describe('more kubectl, client-node, ended sessions and host routing through the edge', () => {
    it('kubectl describe pod and api-resources', async () => {
      const c = ctx();
      const since = c.kube.requests.length;
      const d = await c.kubectl('demo', ['describe', 'pod', 'web']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toMatch(/^Name:\s+web$/m);
      expect(d.stdout).toMatch(/^Status:\s+Running$/m);
      expect(d.stdout).toMatch(/^\s+Image:\s+nginx:1\.27$/m);
      // describe lists the pod's events too: both reached the API server.
      const seen = c.kube.requests.slice(since).map((q) => q.url);
      expect(seen.some((u) => u.startsWith('/api/v1/namespaces/default/pods/web'))).toBe(true);
      expect(seen.some((u) => u.startsWith('/api/v1/namespaces/default/events'))).toBe(true);
      const r = await c.kubectl('demo', ['api-resources']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
      expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      expect(r.stdout).toMatch(/^secrets\s+v1\s+true\s+Secret$/m);
    }, 120_000);

    it('kubectl cp to and from a pod (tar over exec)', async () => {
      const c = ctx();
      writeFileSync(join(c.dir, 'up.txt'), 'uploaded through postern\n');
      const up = await c.kubectl('demo', ['cp', 'up.txt', 'web:/tmp/up.txt']);
      expect(up.code, up.stderr).toBe(0);
      // Ground truth: the pod's file system holds what was sent.
      const fs = c.kube.fs('default', 'web');
      expect(new TextDecoder().decode(fs.files.get('/tmp/up.txt'))).toBe('uploaded through postern\n');
      mkdirSync(join(c.dir, 'tree/sub'), { recursive: true });
      writeFileSync(join(c.dir, 'tree/sub/f.txt'), 'deep\n');
      const tree = await c.kubectl('demo', ['cp', 'tree', 'web:/srv/tree']);
      expect(tree.code, tree.stderr).toBe(0);
      expect(new TextDecoder().decode(fs.files.get('/srv/tree/sub/f.txt'))).toBe('deep\n');
      fs.write('/srv/made.txt', new TextEncoder().encode('made in the pod\n'));
      const down = await c.kubectl('demo', ['cp', 'web:/srv/made.txt', 'down.txt']);
      expect(down.code, down.stderr).toBe(0);
      expect(readFileSync(join(c.dir, 'down.txt'), 'utf8')).toBe('made in the pod\n');
      const back = await c.kubectl('demo', ['cp', 'web:/srv/tree', 'tree-back']);
      expect(back.code, back.stderr).toBe(0);
      expect(readFileSync(join(c.dir, 'tree-back/sub/f.txt'), 'utf8')).toBe('deep\n');
      // Each copy was an exec of tar that reached the API server.
      expect(c.kube.requests.filter((q) => q.url.includes('/pods/web/exec')).length).toBeGreaterThanOrEqual(
        4,
      );
    }, 120_000);

    it('@kubernetes/client-node lists pods and reads a Secret (masked) with the caller token', async () => {
      const c = ctx();
      const token = await fetchToken(c.stack);
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [
          { name: 'edge', server: `${c.frontUrl}/v1/kube/${c.connection}`, caData: b64(c.frontCaPem) },
        ],
        users: [{ name: 'demo', token }],
        contexts: [{ name: 'edge', cluster: 'edge', user: 'demo', namespace: 'default' }],
        currentContext: 'edge',
      });
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const since = c.kube.requests.length;
      const pods = await core.listNamespacedPod({ namespace: 'default' });
      expect(pods.items.map((p) => p.metadata?.name)).toContain('web');
      const s = await core.readNamespacedSecret({ name: 'db', namespace: 'default' });
      expect(Buffer.from(s.data!['password']!, 'base64').toString()).toBe('[REDACTED]');
      expect(JSON.stringify(s)).not.toContain(b64('hunter2-s3cret'));
      // Ground truth: the API server had the value and saw the caller impersonated, never its token.
      const stored = c.kube.store.get(findType('', 'v1', 'secrets')!, 'default', 'db');
      expect(JSON.stringify(stored)).toContain(b64('hunter2-s3cret'));
      const seen = c.kube.requests.slice(since);
      expect(seen.map((q) => q.url.split('?')[0])).toEqual(
        expect.arrayContaining(['/api/v1/namespaces/default/pods', '/api/v1/namespaces/default/secrets/db']),
      );
      for (const q of seen) {
        expect(q.headers.authorization).toBe(`Bearer ${c.kube.token}`);
        expect(q.headers['impersonate-user']).toBe(`${c.stack.issuer}#${c.stack.clientId}`);
      }
      // A forbidden request comes back as the API's own error.
      await expect(core.deleteNamespacedPod({ name: 'web', namespace: 'default' })).rejects.toMatchObject({
        code: 403,
      });
    }, 60_000);

    it('postern sessions list --json shows kubernetes; sessions verify checks an ended session', async () => {
      const c = ctx();
      const admin = clientEnv(c.stack, c.stack.adminClientId, c.stack.adminClientSecret);
      type S = { id: string; protocol: string; subject: string; endedAt: string | null };
      let ended: S | undefined;
      let listed: S[] = [];
      // The session of the short-lived token of the expiry case ends at its token's expiry.
      await waitFor(
        async () => {
          const r = await c.cli(
            [
              'sessions',
              'list',
              '--connection',
              c.connection,
              '--limit',
              '100',
              '--json',
              '--edge',
              c.stack.edgeUrl,
            ],
            admin,
          );
          if (r.code !== 0) throw new Error(r.stderr);
          listed = (JSON.parse(r.stdout) as { sessions: S[] }).sessions;
          ended = listed.find((s) => s.subject.includes(SHORT_CLIENT.clientId) && s.endedAt !== null);
          return ended !== undefined;
        },
        60_000,
        'the expired-token Kubernetes session to end',
      );
      expect(listed.length).toBeGreaterThan(1);
      expect(listed.every((s) => s.protocol === 'kubernetes')).toBe(true);
      const v = await c.cli(['sessions', 'verify', ended!.id, '--edge', c.stack.edgeUrl], admin);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/^OK: \d+ events, chain intact, head [0-9a-f]+/);
      const j = await c.cli(['sessions', 'verify', ended!.id, '--json', '--edge', c.stack.edgeUrl], admin);
      const report = JSON.parse(j.stdout) as {
        ok: boolean;
        events: number;
        head: string;
        recorded: { head: string | null; events: number | null };
      };
      // Checked against the head the ended session recorded, not only against itself.
      expect(report.ok).toBe(true);
      expect(report.recorded.head).toBe(report.head);
      expect(report.recorded.events).toBe(report.events);
      expect(report.events).toBeGreaterThan(1);
    }, 90_000);

    it('<connection>.<BASE_DOMAIN> reaches the connection; /api/v1/me/connections names the base domain', async () => {
      const c = ctx();
      const token = await fetchToken(c.stack);
      const port = new URL(c.stack.edgeUrl).port;
      const since = c.kube.requests.length;
      const r = await hostRequest(
        c.stack.edgeUrl,
        `${c.connection}.${BASE_DOMAIN}:${port}`,
        '/api/v1/namespaces/default/pods',
        token,
      );
      expect(r.status, r.body).toBe(200);
      const list = JSON.parse(r.body) as { kind: string; items: Array<{ metadata: { name: string } }> };
      expect(list.kind).toBe('PodList');
      expect(list.items.map((p) => p.metadata.name)).toContain('web');
      const seen = c.kube.requests.slice(since);
      expect(seen.map((q) => q.url.split('?')[0])).toContain('/api/v1/namespaces/default/pods');
      expect(
        seen.every((q) => q.headers['impersonate-user'] === `${c.stack.issuer}#${c.stack.clientId}`),
      ).toBe(true);
      // A host under the base domain naming no connection reaches no cluster.
      const before = c.kube.requests.length;
      const none = await hostRequest(
        c.stack.edgeUrl,
        `nope.${BASE_DOMAIN}`,
        '/api/v1/namespaces/default/pods',
        token,
      );
      expect(none.status).toBeGreaterThanOrEqual(400);
      expect(c.kube.requests.length).toBe(before);
      const me = await fetch(`${c.stack.edgeUrl}/api/v1/me/connections`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(me.status).toBe(200);
      const body = (await me.json()) as {
        connections: Array<{ name: string; protocol: string }>;
        baseDomain?: string;
      };
      expect(body.baseDomain).toBe(BASE_DOMAIN);
      expect(body.connections).toContainEqual(
        expect.objectContaining({ name: c.connection, protocol: 'kubernetes' }),
      );
    }, 60_000);
  });
}
