// Shared by the `postern connections` tests: runs the command against canned API answers.
import { run } from './connections.ts';

const EDGE = ['--edge', 'http://edge.test', '--token', 'tok-admin'];

/** Runs `postern connections` against canned API answers; records what it sent. */
export async function cli(argv: string[], answers: Array<{ status?: number; body: unknown }> = [], env = {}) {
  const calls: Array<{ url: URL; method: string; body: Record<string, unknown> | undefined }> = [];
  let out = '';
  const fetch = (async (input: URL, init: RequestInit) => {
    calls.push({
      url: new URL(input),
      method: init.method ?? 'GET',
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    });
    const a = answers.shift();
    if (!a) throw new Error('no answer left');
    return Response.json(a.body, { status: a.status ?? 200 });
  }) as unknown as typeof globalThis.fetch;
  const code = await run([...argv, ...EDGE], { fetch, env, now: () => 0, write: (t) => (out += t) });
  return { code, out, calls };
}
