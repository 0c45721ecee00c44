/**
 * The per-session SSH gate: one Cedar decision per thing an SSH client asks for (RFC 4252 user
 * authentication, RFC 4254 channel and global requests, SFTP operations) → allow, deny (with
 * the policy's `@reason`, as for SQL: core/policy/refusal-text.ts) or hold for approval (an
 * `@approval` permit). Pure and synchronous like the SQL gate (core/policy/sql-gate.ts): the
 * engine asks before it forwards a byte of the request, and appends `audit` to the chain.
 *
 * Default deny. Everything is decided on the Connection; the login the SSH user name selects is
 * in every context, and nothing but `ssh:login` is allowed before a login was.
 */
import type { ApprovalRequirement, CompiledPolicies } from '../policy/engine.ts';
import type { PolicySubject } from '../policy/principal.ts';
import { denialText, refusalString } from '../policy/refusal-text.ts';
import { sshFingerprint } from './ssh-fingerprint.ts';
import { quotedForApprovers, redactCommand } from '../audit/redact-command.ts';
import { commandWords } from './ssh-command.ts';

export const SSH_ACTIONS = [
  'ssh:login',
  'ssh:shell',
  'ssh:exec',
  'ssh:pty',
  'ssh:sftp',
  'ssh:sftp_read',
  'ssh:sftp_write',
  'ssh:port_forward',
  'ssh:agent_forward',
  'ssh:x11_forward',
] as const;
export type SshAction = (typeof SSH_ACTIONS)[number];

/** What the engine asks about (the request fields become the action's context). */
export type SshRequest =
  | { action: 'ssh:login'; login: string }
  | { action: 'ssh:shell' | 'ssh:pty' | 'ssh:sftp' | 'ssh:agent_forward' | 'ssh:x11_forward' }
  | { action: 'ssh:exec'; command: string }
  | { action: 'ssh:sftp_read' | 'ssh:sftp_write'; operation: string; path: string }
  | { action: 'ssh:port_forward'; host: string; port: number; direction: 'local' | 'remote' };

/** What a held request hands the session host (protocol-neutral, as for SQL statements). */
export interface SshApprovalTicket {
  /** What approvers read: the request, secrets redacted. */
  text: string;
  /** The request's shape for "approve this for N hours": action, login and its facts, hashed. */
  fingerprint: string;
  action: SshAction;
  approval: ApprovalRequirement & { policies: string[]; reasons: string[] };
}

export type SshVerdict =
  | { effect: 'allow'; audit: SshAudit }
  /** `message`: for the client's stderr (policy ids, `@reason`, what to do: refusal-text.ts). */
  | { effect: 'deny'; message: string; audit: SshAudit }
  /** `message`: the one line the client reads while it waits. */
  | { effect: 'hold'; message: string; ticket: SshApprovalTicket; audit: SshAudit };

/** The audit event's data for one decision (secrets redacted; grants left out). */
export interface SshAudit {
  action: SshAction | string;
  outcome: 'allow' | 'deny' | 'approval' | 'unsafe';
  policies: string[];
  login?: string;
  command?: string;
  operation?: string;
  path?: string;
  host?: string;
  port?: number;
  direction?: string;
  refusal?: string;
}

/** Longest login name taken (OpenSSH allows 255 bytes of user name in practice). */
export const MAX_LOGIN_CHARS = 256;

export class SshGate {
  #login: string | undefined;

  constructor(
    private readonly policies: CompiledPolicies,
    private readonly subject: PolicySubject,
    private readonly grants: () => string[] = () => [],
  ) {}

  /** The login `ssh:login` allowed (undefined before). */
  get login(): string | undefined {
    return this.#login;
  }

  decide(request: SshRequest): SshVerdict {
    const action = request.action as string;
    if (!(SSH_ACTIONS as readonly string[]).includes(action))
      return unsafe({ action, outcome: 'unsafe', policies: [] }, `${clip(action)} is not an SSH action`);
    if (request.action === 'ssh:login') {
      const why = badLogin(request.login);
      if (why) return unsafe({ action, outcome: 'unsafe', policies: [] }, why);
    } else if (this.#login === undefined) {
      return unsafe({ action, outcome: 'unsafe', policies: [] }, `${action} before a login was allowed`);
    }
    const login = request.action === 'ssh:login' ? request.login : this.#login!;
    const facts = factsOf(request);
    if (facts.refusal) return unsafe({ action, outcome: 'unsafe', policies: [], login }, facts.refusal);
    const d = this.policies.authorize({
      principal: this.subject.principal,
      action,
      resource: this.subject.connection,
      context: { login, grants: this.grants(), ...facts.context },
      entities: this.subject.entities,
    });
    const audit: SshAudit = { action, outcome: 'allow', policies: d.policies, login, ...facts.audit };
    if (d.effect === 'allow') {
      if (request.action === 'ssh:login') this.#login = login;
      return { effect: 'allow', audit };
    }
    const connection = this.subject.connection.id;
    const reasons = this.policies.reasonsOf(d.policies);
    if (d.effect === 'approval') {
      const on = `on connection "${connection}"`;
      const why = reasons.length > 0 ? `: ${reasons.join('; ')}` : '';
      const message = `${action}${facts.what} ${on} needs approval from "${d.approval.group}"${why}`;
      return {
        effect: 'hold',
        message,
        audit: { ...audit, outcome: 'approval' },
        ticket: {
          text: `${action} as ${login}${facts.held ?? facts.what} ${on}`,
          fingerprint: sshFingerprint(connection, action, login, facts.shape),
          action: request.action,
          approval: { ...d.approval, policies: d.policies, reasons },
        },
      };
    }
    const message = refusalString(
      denialText({
        action,
        on: `${facts.what ? `${facts.what.trimStart()} ` : ''}on connection "${connection}"`,
        connection,
        policies: d.policies,
        reasons,
        grantsHelp: this.policies.readsContext('grants'),
      }),
    );
    return { effect: 'deny', message, audit: { ...audit, outcome: 'deny', refusal: message } };
  }
}

interface Facts {
  /** Added to Cedar's context. */
  context: Record<string, unknown>;
  /** Added to the audit event (redacted). */
  audit: Partial<SshAudit>;
  /** For messages: ` "sudo ls"`, ` write "/etc/x"`, ` to db:5432` (with a leading space), or ''. */
  what: string;
  /**
   * For the approval request, where `what` is clipped: the whole command or path
   * (`quotedForApprovers`). Approvers decide on what they read.
   */
  held?: string;
  /** What the approval fingerprint covers besides action and login. */
  shape: Record<string, unknown>;
  /** Refused whatever the policy. */
  refusal?: string;
}

function factsOf(r: SshRequest): Facts {
  switch (r.action) {
    case 'ssh:login':
    case 'ssh:shell':
    case 'ssh:pty':
    case 'ssh:sftp':
    case 'ssh:agent_forward':
    case 'ssh:x11_forward':
      return { context: {}, audit: {}, what: '', shape: {} };
    case 'ssh:exec': {
      const command = r.command;
      // sshd refuses a command with a NUL (sshpkt_get_cstring); refused here before it is read.
      if (typeof command !== 'string' || command.includes('\0'))
        return { ...NONE, refusal: 'ssh:exec of a command holding a NUL byte' };
      const { plain, program } = commandWords(command);
      const shown = redactCommand(command);
      return {
        context: { command, plain, program },
        audit: { command: shown },
        what: ` "${clip(shown)}"`,
        held: ` ${quotedForApprovers(shown)}`,
        shape: { command },
      };
    }
    case 'ssh:sftp_read':
    case 'ssh:sftp_write':
      if (typeof r.path !== 'string' || r.path.includes('\0'))
        return { ...NONE, refusal: `${r.action} of a path holding a NUL byte` };
      if (typeof r.operation !== 'string' || !/^[a-z]{1,20}$/.test(r.operation))
        return { ...NONE, refusal: `${r.action} without a known operation` };
      return {
        context: { operation: r.operation, path: r.path },
        audit: { operation: r.operation, path: r.path },
        what: ` ${r.operation} "${clip(r.path)}"`,
        held: ` ${r.operation} ${quotedForApprovers(r.path)}`,
        shape: { operation: r.operation, path: r.path },
      };
    case 'ssh:port_forward':
      if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
        return { ...NONE, refusal: `ssh:port_forward to port ${String(r.port).slice(0, 20)}` };
      if (r.direction !== 'local' && r.direction !== 'remote')
        return { ...NONE, refusal: 'ssh:port_forward without a direction (local or remote)' };
      // RFC 4254 §7: a host name or address; 255 is DNS's own bound on a name.
      if (typeof r.host !== 'string' || r.host.length > 255 || /[\p{Cc}\p{Cf}]/u.test(r.host))
        return { ...NONE, refusal: 'ssh:port_forward to a host name that is not one' };
      return {
        context: { host: r.host, port: r.port, direction: r.direction },
        audit: { host: r.host, port: r.port, direction: r.direction },
        what: ` ${r.direction === 'remote' ? 'from' : 'to'} ${clip(r.host)}:${r.port}`,
        shape: { host: r.host, port: r.port, direction: r.direction },
      };
  }
}

const NONE: Facts = { context: {}, audit: {}, what: '', shape: {} };

/**
 * Every fact is checked before Cedar sees it: a policy reading an attribute the context lacks (or
 * holds with another type) is an evaluation error, and Cedar skips a policy that errs, a forbid
 * included. So a request missing a fact is refused here, never decided without it.
 */

/** Why a login name is refused before policy sees it, if it is. */
function badLogin(login: unknown): string | undefined {
  if (typeof login !== 'string' || login.length === 0) return 'ssh:login with an empty user name';
  if (login.length > MAX_LOGIN_CHARS) return `ssh:login with a user name over ${MAX_LOGIN_CHARS} characters`;
  // Control and format characters would forge lines in the audit trail and in messages.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(login)) return 'ssh:login with control characters in the user name';
  return undefined;
}

function unsafe(audit: SshAudit, why: string): SshVerdict {
  const message = `Postern refused ${why}`;
  return { effect: 'deny', message, audit: { ...audit, outcome: 'unsafe', refusal: message } };
}

/** Client text quoted in a message: one line, at most 120 characters. */
function clip(text: string): string {
  const one = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ');
  return one.length > 120 ? `${one.slice(0, 119)}…` : one;
}
