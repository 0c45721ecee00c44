/**
 * How a Secret's values look masked. `data` values are base64 in the API (core/v1 Secret: "The
 * serialized form of the secret data is a base64 encoded string"), and kubectl decodes them
 * (`describe` counts bytes, `get -o jsonpath='{.data.x}' | base64 -d`, `kubectl create` of a
 * copied manifest): a masked value stays valid base64, of the text `[REDACTED]`, so every client
 * keeps working and shows the same 10-byte marker whatever the secret's length. `stringData`
 * (write-only, never returned by a real server, but an aggregated or odd server might) becomes
 * the text itself.
 */

/** The text every masked Secret value decodes to. */
export const SECRET_MARKER = '[REDACTED]';
/** base64 of SECRET_MARKER: what a masked `data` value is. */
export const SECRET_MARKER_B64 = btoa(SECRET_MARKER);

export type KubeMaskCounts = Partial<Record<string, number>>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Masks `data` and `stringData` of a Secret in place; returns how many values were masked.
 * A field that is present but not a map of values is dropped (it cannot be masked key by key).
 */
export function maskSecretValues(secret: Record<string, unknown>): number {
  let n = 0;
  for (const field of ['data', 'stringData'] as const) {
    if (!(field in secret)) continue;
    const values = secret[field];
    if (values === null) continue;
    if (!isRecord(values)) {
      delete secret[field];
      n++;
      continue;
    }
    for (const key of Object.keys(values)) {
      values[key] = field === 'data' ? SECRET_MARKER_B64 : SECRET_MARKER;
      n++;
    }
  }
  return n;
}
