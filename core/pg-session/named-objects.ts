/**
 * One namespace of the server's (prepared statements, or portals), mirrored the way the server
 * holds it: a name is defined only when the server acknowledged its definition (ParseComplete,
 * BindComplete, the CommandComplete of a PREPARE or DECLARE). Until then:
 *
 * - within the batch that defines it (up to the Sync, or the rest of one Query) the new
 *   definition is what later messages of the batch refer to: if the server rejects the
 *   definition, it skips the rest of the batch (protocol §55.2.3: after an error it discards
 *   messages until Sync; a Query's remaining statements are not run), so nothing can use the
 *   name in the server's old sense;
 * - after that batch, a message that refers to the name waits until the server has answered
 *   every earlier batch: a rejected definition (a duplicate name, a name that is not valid
 *   UTF-8) leaves the server's old object in place, and the end of a transaction ends portals,
 *   so only then does the mirror say what the server will find under the name.
 *
 * Forgetting is the safe direction and happens at once: a name being redefined, closed or
 * deallocated is unknown to the gateway from the moment that is sent.
 */

/** What a lookup finds: the entry, `'pending'` (ask again after the server answers), or nothing. */
export type Lookup<T> = T | 'pending' | undefined;

export class NamedObjects<T> {
  readonly #acked = new Map<string, T>();
  /** Definitions and removals sent in the current batch; null: removed in it. */
  #batch = new Map<string, T | null>();
  /** Definitions sent and not yet answered, per name. */
  readonly #pending = new Map<string, number>();

  /** A definition of `key` is being sent to the server. */
  define(key: string, entry: T): void {
    this.#acked.delete(key);
    this.#batch.set(key, entry);
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
  }

  /** The server accepted a definition sent earlier. */
  acknowledged(key: string, entry: T): void {
    this.#settle(key);
    this.#acked.set(key, entry);
  }

  /** The server never accepted a definition sent earlier (an error, or it was skipped). */
  rejected(key: string): void {
    this.#settle(key);
  }

  /** `key` is removed (Close, DEALLOCATE, CLOSE, or a definition the gateway refused). */
  forget(key: string): void {
    this.#acked.delete(key);
    this.#batch.set(key, null);
  }

  /** Every name is removed (DEALLOCATE ALL, DISCARD ALL, CLOSE ALL). */
  forgetAll(): void {
    for (const key of this.#acked.keys()) this.#batch.set(key, null);
    this.#acked.clear();
  }

  /** The batch ended (Sync or the end of a Query was sent). */
  endBatch(): void {
    if (this.#batch.size > 0) this.#batch = new Map();
  }

  /**
   * What a message of the current batch finds under `key`. `caughtUp`: the server has answered
   * every earlier batch (else anything not defined in this batch is 'pending').
   */
  lookup(key: string, caughtUp: boolean): Lookup<T> {
    const inBatch = this.#batch.get(key);
    if (inBatch !== undefined) return inBatch ?? undefined;
    if (!caughtUp || (this.#pending.get(key) ?? 0) > 0) return 'pending';
    return this.#acked.get(key);
  }

  /** The server holds nothing under any name, and no definition is on its way. */
  empty(): boolean {
    return (
      this.#acked.size === 0 && this.#pending.size === 0 && [...this.#batch.values()].every((e) => e === null)
    );
  }

  /** What the server acknowledged under `key` (for answers, which arrive in order). */
  acked(key: string): T | undefined {
    return this.#acked.get(key);
  }

  /** Every acknowledged entry, and those defined in the current batch. */
  *entries(): IterableIterator<T> {
    yield* this.#acked.values();
    for (const e of this.#batch.values()) if (e) yield e;
  }

  /** Drops acknowledged entries that `keep` rejects (portals at the end of a transaction). */
  retain(keep: (entry: T) => boolean): void {
    for (const [key, e] of this.#acked) if (!keep(e)) this.#acked.delete(key);
  }

  #settle(key: string): void {
    const n = (this.#pending.get(key) ?? 0) - 1;
    if (n > 0) this.#pending.set(key, n);
    else this.#pending.delete(key);
  }
}
