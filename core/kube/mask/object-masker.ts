/**
 * Masking of Kubernetes API objects as the API server returns them in JSON, whatever the shape
 * they come in (docs/kubernetes.md "Masking"):
 *  - a Secret: `data` and `stringData` values (secret-values.ts), unless `unmask` lifts it;
 *  - a ConfigMap: `data` values and decoded `binaryData` through the value detectors;
 *  - anything holding a pod spec: literal `env[].value` through the detectors (pod-env.ts);
 *  - every object's `kubectl.kubernetes.io/last-applied-configuration` annotation, which holds
 *    the object as last applied (a Secret in clear): parsed, masked as an object, written back;
 *    dropped when it does not parse;
 *  - containers of objects: typed lists (`SecretList`: items carry no kind, the list's name
 *    gives it), `v1 List` (mixed kinds), `Table` (rows[].object with includeObject=Object or
 *    Metadata, and cells), watch events (`{type, object}`).
 * An object without a kind takes the kind the request's resource implies (`secrets` → Secret).
 * Masking is in place on parsed JSON; the caller re-serialises (json-body.ts, watch streams).
 */
import type { ValueMasker } from '../../mask/value-masker.ts';
import { maskPodEnv } from './pod-env.ts';
import { maskSecretValues, SECRET_MARKER } from './secret-values.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Nesting taken (a List of Tables of objects with a last-applied inside is 4). */
export const MAX_DEPTH = 8;

/** Kinds whose items or rows name what they hold. */
const CONTAINERS = new Set(['List', 'Table', 'WatchEvent']);

/** The kind of each core resource whose values are masked (for objects that carry none). */
const RESOURCE_KINDS: Record<string, string> = { secrets: 'Secret', configmaps: 'ConfigMap', pods: 'Pod' };

/** Table columns of Secrets that hold no value (printers.go: NAME, TYPE, DATA count, AGE). */
const SECRET_COLUMNS = new Set(['name', 'type', 'data', 'age']);

export interface KubeMaskOptions {
  /** Mask Secret values (false when the caller's `unmask` permit lifts it). */
  secrets: boolean;
  /** The connection's value detectors (core/mask), for ConfigMaps and env values; none when absent. */
  values?: ValueMasker;
}

export class MaskError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export class KubeObjectMasker {
  /** Values masked so far, by what: `secret`, `configmap`, `env`, `last-applied`, `cell`, detector kinds. */
  readonly counts: Partial<Record<string, number>> = {};

  constructor(private readonly options: KubeMaskOptions) {}

  /** The kind an object without one is taken as, from the request's resource (core group). */
  static kindOf(apiGroup: string, resource: string): string | undefined {
    return apiGroup === '' && Object.hasOwn(RESOURCE_KINDS, resource) ? RESOURCE_KINDS[resource] : undefined;
  }

  /** Masks `value` in place; `hint` is the kind an object without one is. Throws MaskError. */
  mask(value: unknown, hint?: string, depth = 0): void {
    if (!isRecord(value)) return;
    if (depth > MAX_DEPTH) throw new MaskError(`objects nested deeper than ${MAX_DEPTH}`);
    const own = typeof value['kind'] === 'string' ? value['kind'] : undefined;
    const kind = own === undefined || own.startsWith('PartialObjectMetadata') ? (hint ?? own) : own;
    if (own === 'Table') this.#table(value, hint, depth);
    else if (own === undefined && 'object' in value && typeof value['type'] === 'string')
      this.mask(value['object'], hint, depth + 1); // a watch event
    else if (own === 'WatchEvent') this.mask(value['object'], hint, depth + 1);
    else if (own !== undefined && (own === 'List' || own.endsWith('List')) && Array.isArray(value['items'])) {
      const itemKind = own === 'List' ? hint : own.slice(0, -4);
      const of = itemKind?.startsWith('PartialObjectMetadata') ? hint : itemKind;
      for (const item of value['items']) this.mask(item, of, depth + 1);
    }
    if (kind === 'Secret' && this.options.secrets) this.#count('secret', maskSecretValues(value));
    else if (kind === 'ConfigMap') this.#configMap(value);
    if (!CONTAINERS.has(own ?? '') && this.options.values) maskPodEnv(value, (v) => this.#text(v, 'env'));
    this.#lastApplied(value, kind, depth);
  }

  #table(table: Record<string, unknown>, hint: string | undefined, depth: number): void {
    const columns = Array.isArray(table['columnDefinitions']) ? table['columnDefinitions'] : [];
    const names = columns.map((c) =>
      isRecord(c) && typeof c['name'] === 'string' ? c['name'].toLowerCase() : '',
    );
    if (!Array.isArray(table['rows'])) return;
    for (const row of table['rows']) {
      if (!isRecord(row)) continue;
      this.mask(row['object'], hint, depth + 1);
      const cells = row['cells'];
      if (!Array.isArray(cells)) continue;
      const secretRow = this.options.secrets && (hint === 'Secret' || kindOfRow(row) === 'Secret');
      for (let i = 0; i < cells.length; i++) {
        const cell = cells[i];
        // A Secret's table shows no value; a column that is not one of its known four might.
        if (secretRow && !SECRET_COLUMNS.has(names[i] ?? '') && cell !== null && cell !== '') {
          cells[i] = SECRET_MARKER;
          this.#count('cell', 1);
        } else if (typeof cell === 'string') cells[i] = this.#text(cell, 'cell');
      }
    }
  }

  #configMap(cm: Record<string, unknown>): void {
    const data = cm['data'];
    if (isRecord(data))
      for (const k of Object.keys(data))
        if (typeof data[k] === 'string') data[k] = this.#text(data[k], 'configmap');
    const binary = cm['binaryData'];
    const values = this.options.values;
    if (!isRecord(binary) || !values?.detecting) return;
    for (const k of Object.keys(binary)) {
      const b64 = binary[k];
      if (typeof b64 !== 'string') continue;
      const bytes = fromBase64(b64);
      const masked = bytes && values.detected(bytes, this.counts);
      if (bytes === undefined)
        binary[k] = ''; // not base64: not a value the server would send
      else if (masked) binary[k] = toBase64(masked);
    }
  }

  #lastApplied(obj: Record<string, unknown>, kind: string | undefined, depth: number): void {
    const metadata = obj['metadata'];
    if (!isRecord(metadata) || !isRecord(metadata['annotations'])) return;
    const annotations = metadata['annotations'];
    const text = annotations[LAST_APPLIED];
    if (text === undefined) return;
    let applied: unknown;
    try {
      applied = typeof text === 'string' ? JSON.parse(text) : undefined;
    } catch {
      applied = undefined;
    }
    if (!isRecord(applied)) {
      delete annotations[LAST_APPLIED];
      this.#count('last-applied', 1);
      return;
    }
    const before = this.#total();
    this.mask(applied, typeof applied['kind'] === 'string' ? undefined : kind, depth + 1);
    if (this.#total() === before) return; // nothing in it was masked: the text stays as it was
    annotations[LAST_APPLIED] = JSON.stringify(applied);
    this.#count('last-applied', 1);
  }

  #text(value: string, what: string): string {
    const values = this.options.values;
    if (!values?.detecting || value.length < 7) return value;
    const out = values.detectedText(value, this.counts);
    if (out !== value) this.#count(what, 1);
    return out;
  }

  #count(what: string, n: number): void {
    if (n > 0) this.counts[what] = (this.counts[what] ?? 0) + n;
  }

  #total(): number {
    let n = 0;
    for (const k in this.counts) n += this.counts[k] ?? 0;
    return n;
  }
}

function kindOfRow(row: Record<string, unknown>): string | undefined {
  const o = row['object'];
  return isRecord(o) && typeof o['kind'] === 'string' ? o['kind'] : undefined;
}

function fromBase64(s: string): Uint8Array | undefined {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    bin += String.fromCharCode(...bytes.subarray(i, Math.min(i + 0x8000, bytes.length)));
  return btoa(bin);
}
