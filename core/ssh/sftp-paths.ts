/**
 * SFTP paths as policy decides them and the server is asked for them (docs/ssh.md, "SFTP"):
 * normalized lexically (`.`, `..`, repeated `/`), relative ones against the session's start
 * directory, or `~` while it is unknown. The server resolves symbolic links; these do not.
 */

/** `path` as policy sees it: absolute, normalized; relative to `home` (or `~` while unknown). */
export function resolvePath(path: string, home: string | undefined): string {
  if (path.startsWith('/')) return normalize(path);
  return normalize(`${home ?? '~'}/${path}`);
}

/**
 * `.`, `..` and repeated `/` resolved lexically: `..` at `/` stays at `/`; above `~` (the
 * unknown start directory) it is kept (`~/../etc`), so the path does not pass for one inside it.
 */
export function normalize(path: string): string {
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out.at(-1) !== '~' && out.at(-1) !== '..') out.pop();
    else if (part !== '..' || !rooted) out.push(part);
  }
  return rooted ? `/${out.join('/')}` : out.join('/');
}

/** A path refused before policy (answered PERMISSION_DENIED). */
export class PathRefused extends Error {}

/**
 * A relative path that climbs above the start directory while Postern does not know it: where
 * it lands is unknown, so no policy on absolute paths could decide it.
 */
export function checkedAbove(path: string): string {
  if (path === '~/..' || path.startsWith('~/../'))
    throw new PathRefused('a relative SFTP path above the start directory, before Postern knows it');
  return path;
}

/** What the server is asked for: the decided path; `~/x` (start directory unknown) as `x`. */
export function forwardedForm(path: string): string {
  if (path === '~') return '.';
  return path.startsWith('~/') ? path.slice(2) : path;
}
