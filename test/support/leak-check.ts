/**
 * Does a masked value reach the client in any common form? The clear value and the transforms an
 * attacker would use to get it past detectors: hex and base64 of its bytes, reversed, upper and
 * lower case, with punctuation translated, and its digits alone (a card or SSN without separators).
 */
const enc = new TextEncoder();

export function transformsOf(value: string): string[] {
  const bytes = enc.encode(value);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  const b64 = Buffer.from(bytes).toString('base64');
  const out = new Set([
    value,
    hex,
    hex.toUpperCase(),
    b64,
    [...value].reverse().join(''),
    value.toUpperCase(),
    value.toLowerCase(),
    value.replace(/[@.\-\s]/g, '#'),
    value.replace(/@/g, '#').replace(/\./g, ','),
  ]);
  const digits = value.replace(/\D/g, '');
  if (digits.length >= 7) out.add(digits);
  return [...out].filter((v) => v.length >= 6);
}

/** The first secret (or transform of one) found in `text`, if any: `[secret, form]`. */
export function findLeak(text: string, secrets: string[]): [string, string] | undefined {
  for (const s of secrets) {
    for (const form of transformsOf(s)) if (text.includes(form)) return [s, form];
  }
  return undefined;
}

/** The leak in `text`, described for a failure message (the secret, its form, some context). */
export function describeLeak(text: string, secrets: string[]): string | undefined {
  const hit = findLeak(text, secrets);
  if (!hit) return undefined;
  const at = text.indexOf(hit[1]);
  return `${hit[0]} as "${hit[1]}" in: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + hit[1].length + 20))}`;
}
