/**
 * Where each policy of a set is written: a policy id (`global/base#2`, as
 * CompiledPolicies.compile numbers them) → its document and the line it starts on, so the
 * editor can point at the policy that decided. Cedar hands back each policy's own text
 * (policySetTextToParts), which is found in the document in order.
 */
import { policySetTextToParts } from '@cedar-policy/cedar-wasm/web';
import type { PolicyDoc } from '../policy/engine.ts';

export interface PolicyPlace {
  document: string;
  /** 1-based; 0 when the text could not be found (it always should). */
  line: number;
}

/** The places of the policies named in `ids` (others are not looked up). */
export function policyPlaces(docs: PolicyDoc[], ids: Iterable<string>): Record<string, PolicyPlace> {
  const wanted = new Set(ids);
  const out: Record<string, PolicyPlace> = {};
  for (const doc of docs) {
    const prefix = `${doc.id}#`;
    if (![...wanted].some((id) => id.startsWith(prefix))) continue;
    const parts = policySetTextToParts(doc.text);
    if (parts.type === 'failure') continue;
    let from = 0;
    parts.policies.forEach((text, i) => {
      const at = findOutsideComment(doc.text, text, from);
      if (at >= 0) from = at + text.length;
      const id = `${prefix}${i + 1}`;
      if (wanted.has(id)) out[id] = { document: doc.id, line: at < 0 ? 0 : lineOf(doc.text, at) };
    });
  }
  return out;
}

/** The next occurrence of `needle` not inside a `//` comment (Cedar has no other kind). */
function findOutsideComment(text: string, needle: string, from: number): number {
  for (let at = text.indexOf(needle, from); at >= 0; at = text.indexOf(needle, at + 1)) {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    if (!text.slice(lineStart, at).includes('//')) return at;
  }
  // A `//` inside a string literal before it on its line: the first occurrence, then.
  return text.indexOf(needle, from);
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
