/**
 * The one bounded memo map (issue 11 §1): first in, first out, bounded by its number of entries
 * and, when asked, by the characters it holds (its keys plus a weight the caller gives each
 * value). The gate's caches are keyed by client SQL text, and a statement with inlined
 * parameters may be megabytes long (issue 10): a bound on entries alone would let 1000 such
 * texts (and their parse trees) stay in a session. Values are remembered, never computed here:
 * a caller that must not remember a failure simply does not `set` it.
 */
export class BoundedCache<V> {
  readonly #entries = new Map<string, { value: V; weight: number }>();
  #weight = 0;

  /**
   * `maxEntryWeight`: an entry heavier than this is not kept at all (one long statement must not
   * push out everything else, and parsing it again costs what it cost the first time).
   */
  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight = Infinity,
    private readonly maxEntryWeight = maxWeight,
  ) {
    if (!(maxEntries >= 1)) throw new RangeError('BoundedCache: maxEntries must be at least 1');
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Keeps `value` unless it is too heavy; `valueWeight` in characters, the key counted too. */
  set(key: string, value: V, valueWeight = 0): void {
    const weight = key.length + valueWeight;
    if (weight > this.maxEntryWeight) return;
    this.delete(key);
    while (
      this.#entries.size > 0 &&
      (this.#entries.size >= this.maxEntries || this.#weight + weight > this.maxWeight)
    ) {
      this.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#weight -= e.weight;
  }

  clear(): void {
    this.#entries.clear();
    this.#weight = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Characters held (keys plus value weights): what the bound is on. */
  get weight(): number {
    return this.#weight;
  }
}
