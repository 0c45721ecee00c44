/**
 * One whole JSON response (get, list, Table, a Status) masked: parsed, masked as objects
 * (object-masker.ts), written back only when something changed, so a response with nothing to
 * mask passes byte for byte. Bounded: a body over `maxBytes` is refused, never buffered further.
 *
 * JSON.parse reads every number as a double: an integer past 2^53 (possible in a custom
 * resource) would be rewritten rounded. Such a body is refused when it had to be rewritten, rather
 * than passed changed.
 */
import { KubeObjectMasker, MaskError, type KubeMaskOptions } from './object-masker.ts';

/** Largest whole response masked (a list of 5000 Secrets of 2 KB is 10 MB). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export type MaskedBody =
  | { ok: true; body: Uint8Array; changed: boolean; counts: Partial<Record<string, number>> }
  | { ok: false; why: string };

/** Kinds a response on `secrets` may be (anything else cannot be known to hold no Secret values). */
export const SECRET_RESPONSE_KINDS = new Set([
  'Secret',
  'SecretList',
  'Table',
  'Status',
  'List',
  'PartialObjectMetadata',
  'PartialObjectMetadataList',
]);

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * `hint`: the kind the request's resource implies (KubeObjectMasker.kindOf), for objects that
 * carry none; when it is `Secret` and Secret values are masked, a response of an unknown kind is
 * refused.
 */
export function maskJsonBody(
  body: Uint8Array,
  options: KubeMaskOptions,
  hint: string | undefined,
  maxBytes = MAX_BODY_BYTES,
): MaskedBody {
  if (body.byteLength > maxBytes) return { ok: false, why: `a response over ${maxBytes} bytes` };
  if (body.byteLength === 0) return { ok: true, body, changed: false, counts: {} };
  let text: string;
  let value: unknown;
  try {
    text = dec.decode(body);
    value = JSON.parse(text);
  } catch {
    return { ok: false, why: 'a response that is not JSON' };
  }
  return maskParsed(value, text, body, options, hint);
}

/** maskJsonBody on text already parsed (a watch event): `raw` is returned when nothing changed. */
export function maskParsed(
  value: unknown,
  text: string,
  raw: Uint8Array,
  options: KubeMaskOptions,
  hint: string | undefined,
): MaskedBody {
  if (hint === 'Secret' && options.secrets) {
    const kind = kindOf(value);
    if (kind === undefined || !SECRET_RESPONSE_KINDS.has(kind))
      return { ok: false, why: `a ${kind ?? 'kindless'} response to a request on secrets` };
  }
  const masker = new KubeObjectMasker(options);
  try {
    masker.mask(value, hint);
  } catch (e) {
    if (e instanceof MaskError) return { ok: false, why: e.message };
    throw e;
  }
  const counts = masker.counts;
  if (Object.keys(counts).length === 0) return { ok: true, body: raw, changed: false, counts };
  if (/\d{16}/.test(text) && hasUnsafeInteger(text))
    return { ok: false, why: 'a response with integers past 2^53 that would be rewritten' };
  return { ok: true, body: enc.encode(JSON.stringify(value)), changed: true, counts };
}

/** The kind at the top, or of a watch event's object. */
function kindOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['kind'] === 'string') return v['kind'];
  if (typeof v['type'] === 'string' && typeof v['object'] === 'object') return kindOf(v['object']);
  return undefined;
}

function hasUnsafeInteger(text: string): boolean {
  let unsafe = false;
  JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) unsafe = true;
    return v;
  });
  return unsafe;
}
