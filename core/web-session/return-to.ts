/**
 * Where sign-in sends the browser back: only a path on this origin. An absolute URL, a
 * scheme-relative `//host`, a backslash (`/\host`, which browsers read as `//host`), control
 * characters or anything that resolves to another origin becomes `/` (an open redirect would let
 * a link on the edge's own domain forward a signed-in person anywhere: OWASP "Unvalidated
 * Redirects and Forwards").
 */
const MAX_RETURN_TO = 2048;

export function safeReturnTo(raw: string | null | undefined): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RETURN_TO) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(raw)) return '/';
  const base = 'https://postern.invalid';
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return '/';
  }
  if (url.origin !== base) return '/';
  // Dot segments are resolved AFTER the checks above: `/.//evil.example`, `/a/..//evil.example`
  // and `/%2e//evil.example` (WHATWG URL reads `%2e` as `.`) all come out as the path
  // `//evil.example`, which a browser following `Location:` reads as another host.
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (path.startsWith('//') || path.startsWith('/\\')) return '/';
  return path;
}
