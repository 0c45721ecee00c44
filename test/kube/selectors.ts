/**
 * labelSelector and fieldSelector query parameters (apimachinery pkg/labels/selector.go and
 * pkg/fields/selector.go): comma means AND; labels take `=`, `==`, `!=`, `in (..)`, `notin (..)`,
 * `key` and `!key`; fields take `=`, `==` and `!=` over the labels a type supports.
 */
import type { KubeObject, ResourceType } from './resources.ts';
import { badRequest } from './status.ts';

type Test = (value: string | undefined) => boolean;
export type Matcher = (o: KubeObject) => boolean;

/** Splits on commas outside parentheses (`env in (a,b),tier=web`). */
function terms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function labelTerm(term: string): [string, Test] {
  let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const set = new Set(m[3]!.split(',').map((v) => v.trim()));
    return m[2] === 'in'
      ? [m[1]!, (v) => v !== undefined && set.has(v)]
      : [m[1]!, (v) => v === undefined || !set.has(v)];
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
  if (m) {
    const want = m[3]!;
    return m[2] === '!=' ? [m[1]!, (v) => v !== want] : [m[1]!, (v) => v === want];
  }
  m = /^(!?)([\w./-]+)$/.exec(term);
  if (m) return m[1] ? [m[2]!, (v) => v === undefined] : [m[2]!, (v) => v !== undefined];
  throw badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
}

export function labelSelector(s: string | null): Matcher {
  if (!s) return () => true;
  const tests = terms(s).map(labelTerm);
  return (o) => tests.every(([key, test]) => test(o.metadata.labels?.[key]));
}

/** Reads a dotted field path (`status.phase`) as a string, the way field label conversion does. */
function fieldValue(o: KubeObject, path: string): string {
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function fieldSelector(s: string | null, t: ResourceType): Matcher {
  if (!s) return () => true;
  const tests = terms(s).map((term): Matcher => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const [, key, op, want] = m as unknown as [string, string, string, string];
    if (key !== 'metadata.name' && key !== 'metadata.namespace' && !t.fieldLabels.includes(key))
      throw badRequest(`field label not supported: ${key}`);
    return op === '!=' ? (o) => fieldValue(o, key) !== want : (o) => fieldValue(o, key) === want;
  });
  return (o) => tests.every((test) => test(o));
}
