/**
 * The web console uses only the public API (issue 14): every request its source makes
 * (`api.get/post/put/patch/del(...)`, `fetch(...)`, `new EventSource(...)`, the admin pages'
 * refusal probe) names a path and method the served OpenAPI document describes. A static guard
 * beside the browser walk (test/e2e/console/a11y.cases.ts), which records what the pages really
 * ask for. A call whose path is not a literal must be listed in DYNAMIC below, so a new one
 * cannot slip past unread.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEdgeApp } from '../app.ts';
import type { Env } from '../../edge/env.ts';
import { documents, routesOf } from '../../test/support/openapi-routes.ts';

const CONSOLE = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'console');

/** Non-literal path arguments, and the paths each can produce (read from the code they name). */
const DYNAMIC: Record<string, string[]> = {
  // policy-editor.ts docPath: a global document or a connection's.
  'docPath(name.value)': ['/policies/{}', '/connections/{}/policies/{}'],
  'docPath(stored.name)': ['/policies/{}', '/connections/{}/policies/{}'],
  // admin-policies.ts path(): the scope's document list.
  'path()': ['/policies', '/connections/{}/policies'],
  // admin-common.ts adminOnly's probe: the literal 4th argument of each adminOnly(...) call (below).
  probe: [],
};

interface Call {
  file: string;
  method: string;
  arg: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * Skips a quoted string or template starting at `i` (its opening quote); returns the index after
 * its closing quote. A template's `${...}` is skipped as code, templates nested in it included.
 */
function skipString(text: string, i: number): number {
  const quote = text[i]!;
  for (i++; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') i++;
    else if (ch === quote) return i + 1;
    else if (quote === '`' && ch === '$' && text[i + 1] === '{') i = skipCode(text, i + 2, '}');
  }
  throw new Error('unterminated string');
}

/** From `i`, skips code up to `stop` at depth 0 (or a comma, when `stop` is ')'); returns its index. */
function skipCode(text: string, i: number, stop: string): number {
  let depth = 0;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipString(text, i) - 1;
      continue;
    }
    if (depth === 0 && (ch === stop || (stop === ')' && ch === ','))) return i;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
  }
  throw new Error('unterminated code');
}

/** The first argument's source text after `(` at `from`. */
function firstArg(text: string, from: number): string {
  return text.slice(from, skipCode(text, from, ')')).trim();
}

function calls(): Call[] {
  const out: Call[] = [];
  const verb: Record<string, string> = {
    get: 'GET',
    post: 'POST',
    put: 'PUT',
    patch: 'PATCH',
    del: 'DELETE',
  };
  for (const file of sources(CONSOLE)) {
    if (file.endsWith('.test.ts')) continue;
    const text = readFileSync(file, 'utf8');
    const name = file.slice(CONSOLE.length + 1);
    // `ctx.api.get<T>(`, `api?.post(`, `.api\n  .get<...>(`: any `api` receiver.
    for (const m of text.matchAll(
      /\bapi\??\s*\.\s*(get|post|put|patch|del)\s*(<(?:[^<>]|<[^<>]*>)*>)?\s*\(/g,
    ))
      out.push({ file: name, method: verb[m[1]!]!, arg: firstArg(text, m.index + m[0].length) });
    for (const m of text.matchAll(/\bfetch\s*\(/g)) {
      const arg = firstArg(text, m.index + m[0].length);
      // ApiClient.request's own fetch(url): every path above goes through it.
      if (name === 'api.ts' && arg === 'url') continue;
      out.push({ file: name, method: 'GET', arg });
    }
    for (const m of text.matchAll(/\bnew\s+EventSource\s*\(/g))
      out.push({ file: name, method: 'GET', arg: firstArg(text, m.index + m[0].length) });
    // adminOnly(root, ctx, title, probe): the probe is a GET.
    for (const m of text.matchAll(/\badminOnly\s*\(([^)]*)\)/g)) {
      const args = m[1]!.split(',').map((s) => s.trim());
      if (args.length === 4) out.push({ file: name, method: 'GET', arg: args[3]! });
    }
  }
  return out;
}

/**
 * `/api/v1/x` from a literal, or null: each `${...}` becomes `{}` (any one segment), and a
 * `${...}` glued to the end of a segment (`recording${query}`) or after `?` is the query, dropped.
 */
export function literalPath(arg: string): string | null {
  const q = arg[0];
  if (!(q === "'" || q === '"' || q === '`') || skipString(arg, 0) !== arg.length) return null;
  let raw = '';
  for (let i = 1; i < arg.length - 1; i++) {
    if (q === '`' && arg[i] === '$' && arg[i + 1] === '{') {
      i = skipCode(arg, i + 2, '}');
      raw += '\u0000';
    } else raw += arg[i];
  }
  const path = raw
    .split('?')[0]!
    .replace(/([^/])\u0000$/, '$1')
    .replace(/\u0000/g, '{}');
  return path.startsWith('/api/') || path.startsWith('/auth/') ? path : `/api/v1${path}`;
}

/** The routes the served OpenAPI document describes. */
async function documented(): Promise<string[]> {
  const res = await createEdgeApp().request('/api/v1/openapi.json', {}, {} as Env);
  expect(res.status).toBe(200);
  return routesOf((await res.json()) as Parameters<typeof routesOf>[0]);
}

const has = documents;

describe('the web console uses only the public API', () => {
  it('finds the calls it checks (the scan itself works)', () => {
    const found = calls();
    // Pages that certainly call the API: a scan finding none of theirs is broken, not clean.
    for (const file of ['pages/access.ts', 'pages/approval-card.ts', 'pages/session.ts', 'main.ts', 'api.ts'])
      expect(
        found.some((c) => c.file === file),
        file,
      ).toBe(true);
    expect(found.length).toBeGreaterThan(25);
  });

  it('every path and method a page asks for is in the served OpenAPI document', async () => {
    const doc = await documented();
    const missing: string[] = [];
    for (const c of calls()) {
      const literal = literalPath(c.arg);
      const paths = literal ? [literal] : DYNAMIC[c.arg]?.map((p) => `/api/v1${p}`);
      if (!paths) {
        missing.push(`${c.file}: ${c.method} ${c.arg} (not a literal: list it in DYNAMIC)`);
        continue;
      }
      for (const p of paths) if (!has(doc, c.method, p)) missing.push(`${c.file}: ${c.method} ${p}`);
    }
    expect(missing).toEqual([]);
  });

  it('would notice a private route (the check can fail)', async () => {
    const doc = await documented();
    expect(has(doc, 'GET', '/api/v1/me/connections')).toBe(true);
    expect(has(doc, 'GET', '/auth/session')).toBe(true);
    expect(has(doc, 'GET', '/api/v1/me/secrets')).toBe(false);
    expect(has(doc, 'DELETE', '/api/v1/approvals/{}')).toBe(false);
    expect(has(doc, 'POST', '/api/v1/approvals/{}/{}')).toBe(true);
    expect(
      literalPath('`/sessions/${id}/recording${channel !== undefined ? `?channel=${channel}` : ""}`'),
    ).toBe('/api/v1/sessions/{}/recording');
    expect(literalPath('`/sessions?${query()}`')).toBe('/api/v1/sessions');
    expect(literalPath("'/auth/logout'")).toBe('/auth/logout');
    expect(literalPath('docPath(name.value)')).toBeNull();
  });
});
