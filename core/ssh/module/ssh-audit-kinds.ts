/**
 * The engine's audit events (`ssh.*`, core/ssh/engine/session.ts) as the audit trail's kinds
 * (core/audit/chain.ts). Decisions are written by the module itself, with the policies that
 * made them (ssh-decide.ts), so the engine's plain "allowed"/"denied" echo of the same decision
 * is not written twice; held requests are the approvals' to record (approval_requested).
 */
import type { AuditKind } from '../../audit/chain.ts';

/** The audit kind of a decision on `action`. */
export function kindOfAction(action: string): AuditKind {
  switch (action) {
    case 'ssh:login':
      return 'ssh_login';
    case 'ssh:shell':
      return 'ssh_shell';
    case 'ssh:exec':
      return 'ssh_exec';
    case 'ssh:pty':
      return 'ssh_pty';
    case 'ssh:sftp':
      return 'ssh_sftp';
    case 'ssh:sftp_read':
    case 'ssh:sftp_write':
      return 'sftp_op';
    case 'ssh:port_forward':
      return 'ssh_port_forward';
    default:
      return 'ssh_request';
  }
}

/** Where an engine event goes: a kind, or undefined when the module already wrote it. */
export function kindOfEngineEvent(kind: string, event: Record<string, unknown>): AuditKind | undefined {
  switch (kind) {
    case 'ssh.login':
      return 'ssh_login';
    case 'ssh.request': {
      const outcome = event['outcome'];
      if (outcome === 'allowed' || outcome === 'denied' || outcome === 'held') return undefined;
      return typeof event['action'] === 'string' ? kindOfAction(event['action']) : 'ssh_request';
    }
    // An SFTP request refused before policy (core/ssh/engine/sftp-filter.ts).
    case 'ssh.sftp':
      return 'sftp_op';
    case 'ssh.exit':
      return 'ssh_exit';
    // A forward the target listens for or relays (forwarding.ts): a -R is a port forward;
    // an agent or X11 channel a request.
    case 'ssh.forward':
      return event['direction'] === 'remote' || event['type'] === 'forwarded-tcpip'
        ? 'ssh_port_forward'
        : 'ssh_request';
    case 'ssh.target_auth':
      return 'ssh_target_auth';
    // Written once the control plane answered (ssh-module.ts, hostKeyLearned).
    case 'ssh.host_key_learned':
      return undefined;
    case 'ssh.host_key_mismatch':
      return 'target_host_key_mismatch';
    default:
      return 'ssh_request';
  }
}
