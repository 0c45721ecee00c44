/**
 * The access grants a session began with (docs/approvals.md). Their actions are Cedar's
 * `context.grants`; when one expires (DO alarm) or is revoked, it is dropped here and the
 * session re-checks what depended on it.
 */
import type { SessionGrant } from '../../edge/contracts/session-start.ts';

export class SessionGrants {
  #grants: SessionGrant[];

  constructor(grants: SessionGrant[] = []) {
    this.#grants = [...grants];
  }

  /** The grants held now (a hibernated session's record keeps them: some may have been dropped). */
  list(): SessionGrant[] {
    return [...this.#grants];
  }

  /** Actions of the grants still valid at `now`. */
  actions(now = Date.now()): string[] {
    const out: string[] = [];
    for (const g of this.#grants) if (g.expiresAt > now) out.push(g.action);
    return out;
  }

  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const g of this.#grants) if (next === undefined || g.expiresAt < next) next = g.expiresAt;
    return next;
  }

  /** Removes and returns the grants that expired by `now`, or the one with `revokedId`. */
  drop(now: number, revokedId?: string): SessionGrant[] {
    const gone = this.#grants.filter((g) => g.expiresAt <= now || g.id === revokedId);
    this.#grants = this.#grants.filter((g) => !gone.includes(g));
    return gone;
  }
}
