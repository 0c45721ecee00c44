/**
 * A Durable Object whose storage fails (a full disk, an outage): from the call on, its SQLite
 * statements matching `writes` throw SQLITE_FULL, and the rest (reads) still work. Restored by
 * `vi.restoreAllMocks()`.
 */
import { runInDurableObject } from 'cloudflare:test';
import { vi } from 'vitest';

/** INSERT only: a table that takes no new row. */
export const INSERTS = /^\s*INSERT\b/i;
/** Every statement that writes. */
export const WRITES = /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i;

export async function failStorageWrites(stub: DurableObjectStub, writes: RegExp): Promise<void> {
  await runInDurableObject(stub, (_i, state) => {
    const sqlStorage = state.storage.sql;
    const exec = sqlStorage.exec.bind(sqlStorage);
    vi.spyOn(sqlStorage, 'exec').mockImplementation((query: string, ...bindings: unknown[]) => {
      if (writes.test(query)) throw new Error('SQLITE_FULL (injected)');
      return exec(query, ...(bindings as SqlStorageValue[]));
    });
  });
}
