/**
 * The routes an OpenAPI document describes, as `METHOD /server/path` with each parameter as `{}`
 * (an operation's own `servers` win over the document's), and whether one of them serves a
 * request. Used by the checks that the web console asks only for the public API
 * (workers/api/console-public-api.test.ts, test/e2e/console/a11y.cases.ts).
 */

interface OpenApiDoc {
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, { servers?: Array<{ url: string }> }>>;
}

export function routesOf(doc: OpenApiDoc): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const server = (op.servers ?? doc.servers ?? [{ url: '' }])[0]!.url.replace(/\/$/, '');
      out.push(`${method.toUpperCase()} ${server}${path.replace(/\{[^}]+\}/g, '{}')}`);
    }
  return out;
}

/** A path against a documented one: `{}` on either side stands for any one segment. */
function sameRoute(called: string, documented: string): boolean {
  const a = called.split('/');
  const b = documented.split('/');
  return a.length === b.length && a.every((seg, i) => seg === b[i] || seg === '{}' || b[i] === '{}');
}

/** Whether `routes` has one for `method path` (the path without its query). */
export function documents(routes: string[], method: string, path: string): boolean {
  return routes.some((r) => r.startsWith(`${method} `) && sameRoute(path, r.slice(method.length + 1)));
}
