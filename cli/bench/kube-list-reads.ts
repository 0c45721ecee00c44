/**
 * How the Kubernetes bench reads a list side by side (kube.ts): each side a URL on a keep-alive
 * connection of its own, read in turn with the other sides, with the CPU each hop of the stack
 * spent on each read (proc-cpu.ts).
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { sampleCpu } from './proc-cpu.ts';

/** The stack's processes by hop: the bench process holds the client, the stand-in and the TLS relay. */
function kubeHop(comm: string, cmdline: string): string {
  if (comm === 'workerd') return 'edge (workerd)';
  if (comm === 'kubectl') return 'kubectl';
  if (cmdline.includes(' connector ')) return 'connector';
  if (cmdline.includes(' bench')) return 'bench (client, stand-in, TLS relay)';
  return `other (${comm})`;
}

/** One side of the Secret list row: a URL read on its own keep-alive connection. */
export interface ListSide {
  url: string;
  headers: Record<string, string>;
  ca?: string;
}

/** What one side's reads came to: bytes read in all, the last body, seconds and CPU ms per hop. */
export interface SideReads {
  bytes: number;
  last: string;
  seconds: number;
  cpuMs: Record<string, number>;
}

/** A GET of `side.url` on one keep-alive connection of its own; resolves to the body. */
function getter(side: ListSide): { get: () => Promise<Buffer>; close: () => void } {
  const https = side.url.startsWith('https:');
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: side.ca })
    : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<Buffer>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(side.url, { agent, headers: side.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200)
            reject(
              new Error(
                `GET ${new URL(side.url).pathname}: HTTP ${res.statusCode} ${body.toString().slice(0, 300)}`,
              ),
            );
          else resolve(body);
        });
      });
      req.on('error', reject);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

/**
 * Reads every side `n` times, ALTERNATING one read of each (after a warm-up read each): the
 * machine's load, which drifts over seconds here, then weighs on every side alike, and the ratio
 * of two sides is taken side by side (reading all of one side, then all of the other, gave
 * 1.34x and 0.72x in two runs two minutes apart at load 6–8). CPU per hop is sampled per read
 * (cli/bench/proc-cpu.ts) and summed per side.
 */
export async function readAlternating(sides: ListSide[], n: number): Promise<SideReads[]> {
  const getters = sides.map(getter);
  const out = sides.map((): SideReads => ({ bytes: 0, last: '', seconds: 0, cpuMs: {} }));
  try {
    for (const g of getters) await g.get(); // connection and warm-up
    for (let i = 0; i < n; i++)
      for (const [k, g] of getters.entries()) {
        const r = out[k]!;
        const cpu = sampleCpu(kubeHop);
        const t0 = performance.now();
        const body = await g.get();
        r.seconds += (performance.now() - t0) / 1000;
        for (const [hop, ms] of Object.entries(cpu.stop())) r.cpuMs[hop] = (r.cpuMs[hop] ?? 0) + ms;
        r.bytes += body.byteLength;
        if (i === n - 1) r.last = body.toString('utf8');
      }
    return out;
  } finally {
    for (const g of getters) g.close();
  }
}
