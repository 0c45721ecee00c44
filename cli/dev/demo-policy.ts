/**
 * What `postern dev` puts in front of the demo data: one Cedar document and the masking rules,
 * each line showing a feature with the demo client (group "demo"). Every rule says why in a
 * `@reason`, which refusals show (docs/policy.md, "Reasons").
 */
import type { MaskingConfig } from '../../core/mask/config.ts';

export const DEMO_POLICY = `// The demo client may read and change rows, and run session commands.
@reason("the demo group may read and change rows and run session commands")
permit(
  principal in Postern::Group::"demo",
  action in [
    Postern::Action::"connect", Postern::Action::"sql:select", Postern::Action::"sql:insert",
    Postern::Action::"sql:update", Postern::Action::"sql:delete", Postern::Action::"sql:session",
    Postern::Action::"sql:copy"
  ],
  resource
);

// An UPDATE or DELETE must say which rows it touches.
@reason("an UPDATE or DELETE needs a WHERE clause that says which rows it changes")
forbid(principal, action in [Postern::Action::"sql:update", Postern::Action::"sql:delete"], resource)
  unless { context.hasWhere };

// Nobody runs code on the server, takes another role or calls admin functions through here.
@reason("nobody runs code on the server, changes role, grants privileges or calls admin functions through Postern")
forbid(
  principal,
  action in [
    Postern::Action::"sql:do_block", Postern::Action::"sql:copy_to_program",
    Postern::Action::"sql:admin", Postern::Action::"sql:set_role", Postern::Action::"sql:grant"
  ],
  resource
);

// Schema changes wait for a DBA's approval.
@reason("schema changes and TRUNCATE wait for a DBA's approval")
@approval("dba")
@approval_timeout("15m")
permit(
  principal in Postern::Group::"demo",
  action in [Postern::Action::"sql:ddl", Postern::Action::"sql:truncate"],
  resource
);

// Admins see everything unmasked.
@reason("admins may connect")
permit(principal in Postern::Group::"postern-admins", action == Postern::Action::"connect", resource);
@reason("admins may read")
permit(principal in Postern::Group::"postern-admins", action == Postern::Action::"sql:select", resource);
@reason("admins see values unmasked")
permit(principal in Postern::Group::"postern-admins", action == Postern::Action::"unmask", resource);
`;

/**
 * The demo SSH connection's document (docs/ssh.md, "Policy"): the demo group logs in, opens
 * shells and moves files; commands that use sudo or remove trees wait for a DBA; the target
 * account's SSH keys and files under /etc are not changed through SFTP; `ssh -L` works, `ssh -R` and agent and X11
 * forwarding do not. The command patterns are a demonstration: they match the string the client
 * sent, and a shell can spell `sudo` in ways no pattern sees (docs/ssh.md, "What policy cannot
 * see"); inside an interactive shell policy sees nothing, only the recording does.
 */
export const DEMO_SSH_POLICY = `// The demo client may log in, open a shell with a terminal and use sftp.
@reason("the demo group may log in, open a shell and move files")
permit(
  principal in Postern::Group::"demo",
  action in [
    Postern::Action::"connect", Postern::Action::"ssh:login", Postern::Action::"ssh:shell",
    Postern::Action::"ssh:pty", Postern::Action::"ssh:sftp", Postern::Action::"ssh:sftp_read",
    Postern::Action::"ssh:sftp_write"
  ],
  resource
);

// Commands run at once, except those that use sudo or remove whole trees.
@reason("the demo group may run commands")
permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:exec", resource)
  unless {
    context.command like "*sudo*" || context.command like "*rm -rf*" || context.command like "*rm -fr*"
  };

// Those wait for a DBA's approval.
@reason("commands that use sudo or rm -rf wait for a DBA's approval")
@approval("dba")
@approval_timeout("15m")
permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:exec", resource)
  when {
    context.command like "*sudo*" || context.command like "*rm -rf*" || context.command like "*rm -fr*"
  };

// The target account's keys stay as the admin set them.
@reason("the target account's SSH keys are not changed through Postern")
forbid(principal, action == Postern::Action::"ssh:sftp_write", resource)
  when { context.path like "*/.ssh/*" || context.path like "*/.ssh" };

// Files are read anywhere and written anywhere but the system's configuration. (Paths are
// absolute and normalized; the server follows symbolic links: docs/ssh.md, "SFTP".)
@reason("files under /etc are read-only through Postern")
forbid(principal, action == Postern::Action::"ssh:sftp_write", resource)
  when { context.path like "/etc/*" || context.path == "/etc" };

// ssh -L (to the demo Postgres, say) works; ssh -R does not.
@reason("the demo group may forward local ports to the target's network")
permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:port_forward", resource)
  when { context.direction == "local" };

// Agent forwarding would let the target use the caller's keys; X11 its display.
@reason("agent and X11 forwarding are off: the target could use your SSH keys or your display")
forbid(
  principal,
  action in [Postern::Action::"ssh:agent_forward", Postern::Action::"ssh:x11_forward"],
  resource
);
`;

/** One column per strategy; the value detectors stay on (redact) for anything else. */
export const DEMO_MASKING: MaskingConfig = {
  columns: [
    { table: 'customers', column: 'email', strategy: 'partial' },
    { table: 'customers', column: 'card_number', strategy: 'partial' },
    { table: 'customers', column: 'phone', strategy: 'token' },
    { table: 'customers', column: 'national_id', strategy: 'redact' },
  ],
  detectors: {},
};
