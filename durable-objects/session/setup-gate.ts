/**
 * Settles once, when the SessionDO's setup has finished (true: the session exists) or failed.
 * The connector learns the channel token from the dial request, before the setup is over, so
 * the data channel can arrive first and waits here (docs/architecture.md, step 5). The same
 * for the start: the Worker sends the client's upgrade without waiting for `begin`'s answer,
 * and workerd may deliver the upgrade first.
 */
export class SetupGate {
  #settle: ((ok: boolean) => void) | undefined;
  readonly done: Promise<boolean> = new Promise((resolve) => (this.#settle = resolve));

  /** `done`, or false once `ms` have passed without it. */
  within(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([this.done, late]).finally(() => clearTimeout(timer));
  }

  settle(ok: boolean): void {
    this.#settle?.(ok);
    this.#settle = undefined;
  }
}
