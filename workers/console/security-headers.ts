/**
 * Headers on every console response (its static files and the /auth routes). The page loads
 * only its own files: no inline script or style, nothing from another origin, no framing
 * (clickjacking of an Approve button), no referrer (a URL may hold a session id).
 */

/** CSP Level 3 (https://www.w3.org/TR/CSP3/): `'self'` only; no `unsafe-inline`, no `unsafe-eval`. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
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
