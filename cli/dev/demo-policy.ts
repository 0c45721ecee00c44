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
