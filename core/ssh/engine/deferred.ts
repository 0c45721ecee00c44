/** A promise with its resolve function outside (resolving twice keeps the first value). */
export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
