/**
 * A session's held request and its approval request (docs/approvals.md). The request (a SQL
 * statement, an SSH exec...) waits in its protocol session; this records the request, tells the client and the webhooks, counts
 * votes (core/approvals/votes.ts), and releases or refuses the statement once: approved, denied,
 * timed out (DO alarm) or cancelled (the client left). Every step goes into the session's hash
 * chain; the control-plane row is for listing and history.
 *
 * The request exists from the moment the statement is held, before its row is written: a
 * CancelRequest, a grant that ends or the client leaving during the write refuses the statement
 * at once, and the row is marked cancelled when the write completes (issue 9). Its timeout is
 * armed before the row is written, so a request nobody can time out never exists.
 */
import { randomToken } from '../../core/crypto/secrets.ts';
import { castVote, narrowestScope, type CastVote } from '../../core/approvals/votes.ts';
import type { ApprovalScope, ApprovalView, PrincipalRef } from '../../core/approvals/types.ts';
import type { HeldOutcome, HeldRequest, VoteAnswer, VoteRequest } from './approval-types.ts';
import { approvalRow, heldNotice, requestedEvent, requestedView, why } from './approval-request.ts';
import type { HeldApproval } from '../../core/policy/gate-verdict.ts';
import { refusalString } from '../../core/policy/refusal-text.ts';
import { approvalTimeoutSeconds } from '../../core/approvals/duration.ts';
import type { Env } from '../../edge/env.ts';
import { alarmNoLaterThan } from '../alarm.ts';
import { loggable } from '../../edge/db/pg-errors.ts';
import type { AuditLog } from './audit-log.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { controlPlaneApprovals, type ApprovalStore } from './approval-store.ts';

interface Vote extends CastVote {
  scope: ApprovalScope;
  hours: number;
}

interface Pending {
  id: string;
  ticket: HeldRequest;
  expiresAt: number;
  votes: Vote[];
  /** False while the request is being recorded: nobody can vote yet, but it can be withdrawn. */
  recorded: boolean;
}

export class SessionApprovals {
  #pending: Pending | undefined;
  #ended = false;
  /** Approver groups that approved "for this session", with how many approvers they had. */
  readonly #sessionScope = new Map<string, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly audit: AuditLog,
    private readonly start: SessionStart,
    private readonly held: HeldOutcome,
    private readonly notify?: (view: ApprovalView) => Promise<unknown>,
    private readonly store: ApprovalStore = controlPlaneApprovals(env, (p) => ctx.waitUntil(p)),
  ) {}

  get requester(): PrincipalRef {
    return { issuer: this.start.identity.issuer, subject: this.start.identity.subject };
  }

  /**
   * Some group approved "for this session". That is not in the hibernation record, so such a
   * session stays in memory (session-do.ts #idleRecord): a woken one would hold again.
   */
  get coversSession(): boolean {
    return this.#sessionScope.size > 0;
  }

  /** An earlier "approve for this session" covers this requirement. */
  coveredBySession(a: HeldApproval): boolean {
    return (this.#sessionScope.get(a.group) ?? 0) >= a.minApprovals;
  }

  /** The flow is holding a statement: find a standing shape approval, or ask for one. */
  async hold(ticket: HeldRequest): Promise<void> {
    const conn = this.start.connection;
    const a = ticket.approval;
    const now = new Date();
    const id = randomToken('apr', 12);
    const expiresAt = now.getTime() + approvalTimeoutSeconds(a.timeout) * 1000;
    const row = approvalRow(id, ticket, this.start, this.requester, now, expiresAt);
    // Withdrawable from here on (withdraw/cancel), though no vote can reach it before its row exists.
    const p: Pending = { id, ticket, expiresAt, votes: [], recorded: false };
    if (this.#ended) return this.held.release(false, 'statement refused: the session is ending');
    this.#pending = p;
    let opened: Awaited<ReturnType<ApprovalStore['open']>> | undefined;
    try {
      // The timeout first: a request that nothing can time out must never exist.
      await alarmNoLaterThan(this.ctx.storage, expiresAt);
      opened = await this.store.open(
        {
          connectionId: conn.id,
          issuer: row.requesterIssuer,
          subject: row.requesterSubject,
          fingerprint: ticket.fingerprint,
          group: a.group,
          minApprovals: a.minApprovals,
          policySet: this.start.policies.key,
          now,
        },
        row,
      );
    } catch (e) {
      // No timeout or no record of the request means nobody could end it: refuse now rather than hang.
      console.error(JSON.stringify({ msg: 'approval request not recorded', ...loggable(e) }));
    }
    if (this.#pending !== p) {
      // Withdrawn or cancelled while it was being written: refused and audited then; the row
      // that now exists says so too.
      if (opened && 'recorded' in opened) this.ctx.waitUntil(this.#record(p.id, 'cancelled'));
      return;
    }
    if (!opened) {
      this.#pending = undefined;
      return this.held.release(
        false,
        'statement refused: its approval request could not be recorded; try again',
      );
    }
    if ('shape' in opened) {
      this.#pending = undefined;
      try {
        this.audit.append(
          'approval_decided',
          { status: 'approved', by: 'shape', shapeApproval: opened.shape, fingerprint: ticket.fingerprint },
          'approved',
        );
      } catch {
        return this.held.release(false, 'statement refused: the audit log could not record its approval');
      }
      return this.held.release(true, '');
    }
    p.recorded = true;
    try {
      this.#auditRequested(p, row.expiresAt);
    } catch {
      this.#finish(
        'cancelled',
        false,
        'statement refused: the audit log could not record its approval request',
      );
      return;
    }
    this.held.notice(heldNotice(row, a, this.start.edgeUrl));
    if (this.notify) {
      const view = requestedView(row, this.requester);
      this.ctx.waitUntil(this.notify(view).catch(() => undefined));
    }
  }

  #auditRequested(p: Pending, expiresAt: Date): void {
    this.audit.append('approval_requested', requestedEvent(p.id, p.ticket, expiresAt), 'pending');
  }

  /**
   * A request withdrawn or cancelled before its row was written: the chain says so now (before
   * any session_close), the row is marked once its write completes (hold). The client was never
   * told of a request, so there is no approval_requested to pair it with.
   */
  #dropUnrecorded(p: Pending, reason: string): void {
    this.#pending = undefined;
    try {
      this.audit.append(
        'approval_decided',
        { id: p.id, status: 'cancelled', reason, approvers: [] },
        'cancelled',
      );
    } catch {
      // the statement is refused (or the session is ending) either way
    }
  }

  /** An approver's vote (already authenticated by the Worker; checked again here). */
  vote(req: VoteRequest): VoteAnswer {
    const p = this.#pending;
    if (!p || p.id !== req.id) {
      return {
        ok: false,
        refusal: 'not_pending',
        message: 'the statement is no longer waiting for approval',
      };
    }
    // Its row was just written and the chain does not show the request yet: a moment later it will.
    if (!p.recorded) {
      return { ok: false, refusal: 'not_pending', message: 'the request is still being recorded; try again' };
    }
    const a = p.ticket.approval;
    const outcome = castVote(
      {
        status: 'pending',
        requester: this.requester,
        approverGroup: a.group,
        minApprovals: a.minApprovals,
        expiresAt: new Date(p.expiresAt),
      },
      p.votes,
      req.voter,
      req.decision,
      new Date(),
    );
    if (!outcome.ok) return outcome;
    const approver = { issuer: req.voter.issuer, subject: req.voter.subject };
    const shape = req.scope === 'shape' ? { hours: req.hours } : {};
    try {
      this.audit.append(
        'approval_vote',
        { id: p.id, approver, decision: req.decision, reason: req.reason, scope: req.scope, ...shape },
        req.decision,
      );
    } catch {
      return {
        ok: false,
        refusal: 'not_recorded',
        message: 'the vote could not be recorded in the audit log; try again',
      };
    }
    p.votes.push({ approver, decision: req.decision, scope: req.scope, hours: req.hours });
    if (outcome.status === 'denied') {
      const why = req.reason ? `: ${req.reason.slice(0, 500)}` : '';
      this.#finish(
        'denied',
        false,
        `statement refused: approval request ${p.id} was denied by ${req.voter.subject}${why}`,
      );
      return { ok: true, status: 'denied', approvals: outcome.approvals };
    }
    if (outcome.status === 'pending') return { ok: true, status: 'pending', approvals: outcome.approvals };
    const narrow = narrowestScope(p.votes);
    if (!this.#finish('approved', true, '', narrow.scope)) {
      return {
        ok: false,
        refusal: 'not_recorded',
        message: 'the approval could not be recorded in the audit log; the statement was refused',
      };
    }
    if (narrow.scope === 'session') {
      this.#sessionScope.set(a.group, Math.max(outcome.approvals, this.#sessionScope.get(a.group) ?? 0));
    }
    return {
      ok: true,
      status: 'approved',
      approvals: outcome.approvals,
      effective: { ...narrow, approvals: outcome.approvals, policySet: this.start.policies.key },
    };
  }

  /** Alarm: a request past its time is refused. Re-arms for one still waiting. */
  async alarm(now: number): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    if (now < p.expiresAt) return alarmNoLaterThan(this.ctx.storage, p.expiresAt);
    if (!p.recorded) {
      this.withdraw(`statement refused: approval request ${p.id} timed out before it was recorded`);
      return;
    }
    const approvals = p.votes.filter((v) => v.decision === 'approve').length;
    this.#finish(
      'expired',
      false,
      `statement refused: approval request ${p.id} timed out with ${approvals} of ${p.ticket.approval.minApprovals} approvals`,
    );
  }

  /** The session is ending: a waiting request can no longer run. */
  cancel(): void {
    this.#ended = true;
    const p = this.#pending;
    if (!p) return;
    if (!p.recorded) return this.#dropUnrecorded(p, 'the session ended while its request was being recorded');
    this.#pending = undefined;
    try {
      this.audit.append(
        'approval_decided',
        { id: p.id, status: 'cancelled', reason: 'the session ended while it waited' },
        'cancelled',
      );
    } catch {
      // the session is closing; the control-plane row still says cancelled
    }
    this.ctx.waitUntil(this.#record(p.id, 'cancelled'));
  }

  /**
   * Withdraws a waiting request: the client's CancelRequest, or the access it relied on ended
   * (a statement must not run on a decision made before that).
   */
  withdraw(message = 'statement canceled while it waited for approval'): boolean {
    const p = this.#pending;
    if (!p) return false;
    if (!p.recorded) {
      this.#dropUnrecorded(p, 'withdrawn while its request was being recorded');
      this.held.release(false, message);
      return true;
    }
    this.#finish('cancelled', false, message);
    return true;
  }

  /**
   * Ends the wait; true when the statement was released to the target. The control-plane row is
   * updated from here too (the Worker does it as well; whoever is first wins), so a Worker that
   * fails after the vote cannot leave it pending.
   */
  #finish(
    status: 'approved' | 'denied' | 'expired' | 'cancelled',
    approved: boolean,
    message: string,
    scope?: ApprovalScope,
  ): boolean {
    const p = this.#pending;
    this.#pending = undefined;
    if (!p) return false;
    try {
      this.audit.append(
        'approval_decided',
        { id: p.id, status, ...(scope ? { scope } : {}), approvers: p.votes.map((v) => v.approver) },
        status,
      );
    } catch (e) {
      // Fail closed: an approval the audit trail cannot show does not run.
      console.error(
        JSON.stringify({ msg: 'approval decision not audited', status, error: (e as Error).message }),
      );
      if (approved) {
        this.held.release(false, 'statement refused: the audit log could not record its approval');
        this.ctx.waitUntil(this.#record(p.id, 'cancelled'));
        return false;
      }
    }
    // A refusal says why the statement waited at all (the permits' @reason, docs/policy.md).
    const reason = why(p.ticket.approval);
    this.held.release(
      approved,
      approved || !reason ? message : refusalString({ message, detail: `held for approval: ${reason}` }),
    );
    this.ctx.waitUntil(this.#record(p.id, status, scope));
    return approved;
  }

  async #record(
    id: string,
    status: 'approved' | 'denied' | 'expired' | 'cancelled',
    scope?: ApprovalScope,
  ): Promise<void> {
    try {
      await this.store.decide(id, status, scope);
    } catch (e) {
      console.warn(JSON.stringify({ msg: 'approval status not recorded', id, status, ...loggable(e) }));
    }
  }
}
