/**
 * The console's static files (dist/console, built from console/ by cli/dev/console-bundle.ts),
 * served through Workers static assets (wrangler.toml `[assets]`, binding ASSETS) with
 * `run_worker_first`, so every file leaves with the console's security headers. Paths of the
 * APIs never fall through to a file: an unknown /api or /v1 path is the API's JSON 404.
 */
import type { Context } from 'hono';
import type { Env } from '../../edge/env.ts';
import { httpError } from '../../edge/http-errors.ts';
import { withConsoleHeaders } from './security-headers.ts';

const API_PREFIXES = ['/api/', '/v1/', '/auth/'];

export async function serveConsole(c: Context<{ Bindings: Env }>): Promise<Response> {
  const url = new URL(c.req.url);
  if (API_PREFIXES.some((p) => url.pathname.startsWith(p)) || !c.env.ASSETS)
    return httpError(404, 'not_found', 'no such endpoint');
  const res = await c.env.ASSETS.fetch(c.req.raw);
  const out = withConsoleHeaders(res, url);
  // index.html names the bundle; it must be revalidated so a new deployment is picked up.
  if ((out.headers.get('Content-Type') ?? '').startsWith('text/html'))
    out.headers.set('Cache-Control', 'no-cache');
  return out;
}
