/**
 * Settles once, when the SessionDO's setup has finished (true: the session exists) or failed.
 * The connector learns the channel token from the dial request, before the setup is over, so
 * the data channel can arrive first and waits here (docs/architecture.md, step 5).
 */
export class SetupGate {
  #settle: ((ok: boolean) => void) | undefined;
  readonly done: Promise<boolean> = new Promise((resolve) => (this.#settle = resolve));

  settle(ok: boolean): void {
    this.#settle?.(ok);
    this.#settle = undefined;
  }
}
