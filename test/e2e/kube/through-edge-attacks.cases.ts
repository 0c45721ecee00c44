/**
 * Attack cases of test/e2e/kube/through-edge.test.ts, on its shared stack (issue 13, issue 12's
 * leftovers): a forbidden request spelled a second way, and a hostile API server (the stand-in's
 * `hostile` hook, test/kube/server.ts) answering with what Postern must not pass. Ground truth:
 * the stand-in's request log and store, and what kubectl printed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { findType } from '../../kube/resources.ts';
import type { KubeStandIn } from '../../kube/server.ts';
import type { TestStack } from '../harness.ts';
import { b64, type Run } from './through-edge-harness.ts';

export interface AttacksContext {
  stack: TestStack;
  kube: KubeStandIn;
  connection: string;
  /** A token of the demo group (no unmask: Secret values are masked for it). */
  demoToken(): Promise<string>;
  kubectl(who: 'demo', args: string[]): Promise<Run>;
}

/** One request to the edge with the path sent exactly as written (no client normalises it). */
function rawRequest(edgeUrl: string, method: string, path: string, token: string) {
  const u = new URL(edgeUrl);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method, headers: { Authorization: `Bearer ${token}` } },
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

const SECRET = 'hostile-s3cret-value';
/** What kubectl must never print: the value, as sent (base64) and decoded. */
const leaks = (r: Run) => [SECRET, b64(SECRET)].some((f) => (r.stdout + r.stderr).includes(f));
const secretJson = `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"hostile","namespace":"default"},"data":{"password":"${b64(SECRET)}"}}`;

/** Writes `chunk` until `total` bytes went or the connection closed, following backpressure. */
async function writeUntil(res: ServerResponse, chunk: string, total: number): Promise<void> {
  let written = 0;
  while (written < total && !res.destroyed) {
    written += chunk.length;
    if (!res.write(chunk))
      await new Promise<void>((r) => {
        res.once('drain', r);
        res.once('close', r);
      });
  }
}

/** The hostile answers, each to `GET .../secrets/hostile`. */
const answers: Record<string, (res: ServerResponse) => void> = {
  'a body declared over the cap': (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(40 * 2 ** 20) });
    res.write(secretJson.slice(0, -1));
  },
  'a Secret list streamed past the cap (33 MiB, chunked)': (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[');
    void writeUntil(res, `${secretJson},`.repeat(200), 33 * 2 ** 20).then(() => res.end('{}]}'));
  },
  'a body that is not JSON, said to be JSON': (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(`<html>password: ${b64(SECRET)} ${SECRET}</html>`);
  },
  'truncated JSON': (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(secretJson.slice(0, -2));
  },
  'a protobuf Secret to a JSON request': (res) => {
    const body = Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0]), Buffer.from(`\n\x06Secret${SECRET}`)]);
    res.writeHead(200, {
      'Content-Type': 'application/vnd.kubernetes.protobuf',
      'Content-Length': body.length,
    });
    res.end(body);
  },
};

export function attackCases(ctx: () => AttacksContext): void {
  describe('attacks through the edge', () => {
    it('without a token: a 401 Status saying how to get one', async () => {
      const res = await fetch(
        `${ctx().stack.edgeUrl}/v1/kube/${ctx().connection}/api/v1/namespaces/default/pods`,
      );
      expect(res.status).toBe(401);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', reason: 'Unauthorized', code: 401 });
      expect(String(body['message'])).toContain('postern kube-config');
    }, 30_000);

    it('a forbidden delete spelled another way is refused, and no DELETE reaches the API server', async () => {
      const c = ctx();
      const token = await c.demoToken();
      const pods = `/v1/kube/${c.connection}/api/v1/namespaces/default/pods`;
      const before = c.kube.requests.filter((q) => q.method === 'DELETE').length;
      const spellings = [
        `${pods}/w%65b`, // a percent-encoded letter: read as "web", the forbid applies
        `${pods}/%77eb`,
        `${pods}%2Fweb`, // an escaped slash
        `${pods}/x/..%2Fweb`,
        `${pods}/./web`,
        `/v1/kube/${c.connection}/api//v1/namespaces/default/pods/web`, // an empty segment
        `/v1/kube/${c.connection}/API/v1/namespaces/default/pods/web`, // case
        `${pods}/web;x=1`, // a ; parameter
        `${pods}/web%00`,
        `${pods}/web/`, // a trailing slash: still "web"
        `/v1/kube/${c.connection}/apis/core/v1/namespaces/default/pods/web`, // a group alias
      ];
      for (const path of spellings) {
        const r = await rawRequest(c.stack.edgeUrl, 'DELETE', path, token);
        expect(r.status, `${path}: ${r.body}`).toBeGreaterThanOrEqual(400);
        expect(r.status, path).toBeLessThan(500);
        expect(JSON.parse(r.body), path).toMatchObject({ kind: 'Status', status: 'Failure' });
      }
      expect(c.kube.requests.filter((q) => q.method === 'DELETE').length).toBe(before);
      expect(c.kube.store.has(findType('', 'v1', 'pods')!, 'default', 'web')).toBe(true);
    }, 120_000);

    it('a hostile API server: kubectl gets a Status each time, no Secret value, and the session goes on', async () => {
      const c = ctx();
      let mode = '';
      c.kube.hostile = (req: IncomingMessage, res: ServerResponse) => {
        if (!req.url?.startsWith('/api/v1/namespaces/default/secrets/hostile')) return false;
        answers[mode]!(res);
        return true;
      };
      try {
        for (mode of Object.keys(answers)) {
          const r = await c.kubectl('demo', ['get', 'secret', 'hostile', '-o', 'json']);
          expect(r.code, mode).not.toBe(0);
          expect(r.stderr, mode).toMatch(/Error from server \(InternalError\).*Postern refused to pass/);
          expect(leaks(r), `${mode}: ${r.stdout}${r.stderr}`).toBe(false);
        }
        // A response that never ends: kubectl gives up; nothing of it was printed.
        mode = 'never ends';
        answers[mode] = (res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write(secretJson.slice(0, -1));
        };
        const r = await c.kubectl('demo', ['get', 'secret', 'hostile', '-o', 'json', '--request-timeout=3s']);
        expect(r.code).not.toBe(0);
        expect(leaks(r), `${r.stdout}${r.stderr}`).toBe(false);
      } finally {
        c.kube.hostile = undefined;
      }
      // The same session still serves: the pods, and a Secret masked as always.
      const pods = await c.kubectl('demo', ['get', 'pods']);
      expect(pods.code, pods.stderr).toBe(0);
      expect(pods.stdout).toMatch(/^web\s/m);
      const db = await c.kubectl('demo', ['get', 'secret', 'db', '-o', 'json']);
      expect(db.code, db.stderr).toBe(0);
      expect(JSON.parse(db.stdout).data.password).toBe(b64('[REDACTED]'));
    }, 240_000);
  });
}
