/**
 * The Kubernetes bench rows: skipped with a reason when there is no demo cluster; the direct
 * half measured with the real kubectl against the stand-in API server (test/kube/) when the way
 * through Postern is not there (here: an edge that does not answer), which is then said, not
 * failed. Counts, not timings: the numbers themselves belong to `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Stack } from '../dev/stack.ts';
import { freePort } from '../dev/free-port.ts';
import { start } from '../../test/kube/server.ts';
import { kubeTable, measureKube, requestMs } from './kube.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-kube-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = { dir, samples: 2, maskMb: 0.1, pods: 100, secrets: 20, reads: 2, say: () => undefined };

describe('Kubernetes bench rows', () => {
  it('say why they were skipped when the stack has no demo cluster, instead of failing', async () => {
    const why = 'openssl not found (the stand-in makes its TLS CA with it)';
    const r = await measureKube({ kube: { unavailable: why } } as Stack, 'token', opts);
    expect(r).toEqual({ unavailable: why });
    expect(kubeTable(r)).toContain(`Kubernetes rows skipped: ${why}`);
    const none = await measureKube({ kube: null } as Stack, 'token', opts);
    expect(kubeTable(none)).toContain('the stack was started without the demo cluster');
  });

  it('read the time kubectl -v=6 logs for the list request, and only a 200 for that path', () => {
    const log = [
      'I1204 02:59:58.629629   17269 round_trippers.go:560] GET https://127.0.0.1:41869/api?timeout=32s 200 OK in 3 milliseconds',
      'I1204 02:59:58.700000   17269 round_trippers.go:560] GET https://127.0.0.1:41869/api/v1/namespaces/bench/pods?limit=500 503 Service Unavailable in 9 milliseconds',
      'I1204 02:59:58.808374   17269 round_trippers.go:560] GET http://127.0.0.1:8787/v1/kube/demo-kube/api/v1/namespaces/bench/pods?limit=500 200 OK in 165 milliseconds',
    ].join('\n');
    expect(requestMs(log, '/api/v1/namespaces/bench/pods')).toBe(165);
    expect(requestMs(log, '/api/v1/namespaces/other/pods')).toBeNull();
  });

  it('measure the direct half with the real kubectl (100 pods) and say why the via half is missing', async () => {
    const kube = await start({ host: '127.0.0.1', port: 0, tls: true });
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const caFile = join(dir, 'front-ca.pem');
      writeFileSync(caFile, kube.caPem);
      const front = { url: dead.replace('http:', 'https:'), caPem: kube.caPem };
      const stack = {
        kube: { standIn: kube, connection: 'demo-kube', front, frontCaFile: caFile },
        edgeUrl: dead,
      } as unknown as Stack;
      const r = await measureKube(stack, 'not-a-token', opts);
      if ('unavailable' in r) throw new Error(r.unavailable);
      expect(r.pods).toBe(100);
      expect(r.getPodsRequest.directP50Ms).toBeGreaterThanOrEqual(0);
      expect(r.getPodsRequest.viaP50Ms).toBeNull();
      expect(r.secretList).toMatchObject({ secrets: 20, reads: 2, viaMBps: null });
      expect(r.secretList.directMBps).toBeGreaterThan(0);
      expect(r.secretMasking.maskedValues).toBeGreaterThan(0);
      expect(r.viaUnavailable).toMatch(/^kubectl get pods through Postern failed: .*connection refused/);
      expect(kubeTable(r)).toContain('through Postern: kubectl get pods through Postern failed');
      // Every sample listed all 100 pods from the stand-in (measureKube checks the count):
      // one warm-up and two samples, each one GET of the pods.
      const lists = kube.requests.filter((q) => q.url.startsWith('/api/v1/namespaces/bench/pods'));
      expect(lists).toHaveLength(3);
    } finally {
      await kube.stop();
    }
  }, 60_000);
});
