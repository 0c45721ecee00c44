/**
 * Headers on every console response (its static files and the /auth routes). The page loads
 * only its own files: no inline script or style, nothing from another origin, no framing
 * (clickjacking of an Approve button), no referrer (a URL may hold a session id).
 */

/** CSP Level 3 (https://www.w3.org/TR/CSP3/): `'self'` only; no `unsafe-inline`, no `unsafe-eval`. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  // 'wasm-unsafe-eval' lets the page compile WebAssembly and nothing else (no eval of script
  // text): asciinema-player's terminal emulator, bundled from npm, is WASM (console/pages/session.ts).
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** The headers, for a response served over `protocol` (`https:` adds HSTS). */
export function consoleHeaders(protocol: string): Record<string, string> {
  return {
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    ...(protocol === 'https:' ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/** A copy of `res` with the console headers set (asset responses are immutable). */
export function withConsoleHeaders(res: Response, url: URL): Response {
  const out = new Response(res.body, res);
  for (const [k, v] of Object.entries(consoleHeaders(url.protocol))) out.headers.set(k, v);
  return out;
}

/**
 * The same headers on every other answer of the edge that a browser may load: the API's JSON
 * (personal: a person's approvals, sessions, connections), the error bodies, /healthz. JSON
 * is not a page, but a browser will still frame it or sniff it if told nothing, and a shared or
 * browser cache must not keep one person's answer: `Cache-Control: no-store` unless the route
 * set its own (the console's files do). Headers a route set are kept.
 */
export function addEdgeHeaders(res: Response, url: URL): Response {
  let out = res;
  try {
    out.headers.set('X-Content-Type-Options', 'nosniff'); // throws when the headers are immutable
  } catch {
    out = new Response(res.body, res);
  }
  for (const [k, v] of Object.entries(consoleHeaders(url.protocol)))
    if (!out.headers.has(k)) out.headers.set(k, v);
  if (!out.headers.has('Cache-Control')) out.headers.set('Cache-Control', 'no-store');
  return out;
}
