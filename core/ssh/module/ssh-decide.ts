/**
 * The engine's `decide` hook on the SSH gate (core/ssh/ssh-gate.ts): each request decided by
 * Cedar and written to the audit trail, with the policies that decided it, before the engine
 * forwards a byte of it. An audit write that fails throws, and the engine refuses the request
 * (its `decide` failing is a denial: fail closed). A request held for approval keeps its ticket
 * here until the engine asks the host to hold it (`held`): the engine holds one at a time.
 */
import type { HeldApproval } from '../../policy/gate-verdict.ts';
import type { HeldRequest } from '../../session-host/held-request.ts';
import type { ProtocolServices } from '../../session-host/protocol.ts';
import type { SshDecision, SshHeld, SshRequest as EngineRequest } from '../engine/types.ts';
import type { SshApprovalTicket, SshGate, SshRequest } from '../ssh-gate.ts';
import { kindOfAction } from './ssh-audit-kinds.ts';

export class SshDecider {
  #ticket: SshApprovalTicket | undefined;
  /** Requests decided (the session record's `statements`). */
  decided = 0;

  constructor(
    private readonly gate: SshGate,
    private readonly services: ProtocolServices,
    private readonly connection: string,
  ) {}

  decide(request: EngineRequest): SshDecision {
    this.decided++;
    const v = this.gate.decide(gateRequest(request));
    const kind = kindOfAction(v.audit.action);
    if (v.effect === 'allow') {
      this.services.audit(kind, { ...v.audit }, 'allow');
      return 'allow';
    }
    if (v.effect === 'deny') {
      this.services.audit(kind, { ...v.audit }, v.audit.outcome);
      return { deny: v.message };
    }
    const approval = heldApproval(v.ticket, this.connection);
    if (this.services.coveredBySession(approval)) {
      this.services.audit(kind, { ...v.audit, outcome: 'allow', approvedBy: 'session' }, 'allow');
      return 'allow';
    }
    this.services.audit(kind, { ...v.audit }, 'approval');
    this.#ticket = v.ticket;
    return { hold: { text: v.message, fingerprint: v.ticket.fingerprint } };
  }

  /** The host's HeldRequest for the request the engine now holds. */
  held(held: SshHeld): HeldRequest | undefined {
    const t = this.#ticket;
    this.#ticket = undefined;
    if (!t || t.fingerprint !== held.fingerprint) return undefined;
    return {
      text: t.text,
      fingerprint: t.fingerprint,
      action: t.action,
      approval: heldApproval(t, this.connection),
    };
  }
}

/** The engine's request as the gate reads it. */
function gateRequest(r: EngineRequest): SshRequest {
  switch (r.action) {
    case 'ssh:pty':
      return { action: 'ssh:pty' };
    case 'ssh:port_forward':
      return { action: 'ssh:port_forward', host: r.host, port: r.port, direction: r.direction };
    default:
      return r;
  }
}

/**
 * The approvals' shape of an SSH ticket. HeldApproval names a SQL action type; the approvals
 * read it as text only (the request's action and resource for people), so an SSH action fits.
 */
function heldApproval(t: SshApprovalTicket, connection: string): HeldApproval {
  return { ...t.approval, action: t.action as unknown as HeldApproval['action'], resource: connection };
}
