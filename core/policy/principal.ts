/**
 * The verified identity as Cedar entities: the principal (User when the token carries an email,
 * i.e. names a person; Workload otherwise), its groups, and the connection.
 */
import type { EntityJson } from '@cedar-policy/cedar-wasm/web';
import type { Identity } from '../identity/identity.ts';
import type { EntityRef } from './engine.ts';
import { PRINCIPAL_CLAIMS } from './schema.ts';

export interface PolicySubject {
  principal: EntityRef;
  connection: EntityRef;
  /** Principal and connection: the entities every request of the session carries. */
  entities: EntityJson[];
}

export function policySubject(identity: Identity, connectionName: string): PolicySubject {
  const claims: Record<string, string> = {};
  for (const k of PRINCIPAL_CLAIMS) {
    const v = identity.attributes[k];
    if (typeof v === 'string') claims[k] = v;
  }
  const type = claims['email'] ? 'Postern::User' : 'Postern::Workload';
  // issuer + subject: the same `sub` from two issuers is two principals.
  const principal = { type, id: `${identity.issuer}#${identity.subject}` };
  const connection = { type: 'Postern::Connection', id: connectionName };
  // Groups are the principal's parents, which is all `principal in Group::"g"` reads. They are
  // not listed as entities of their own: with no attributes and no parents, a listed group and an
  // absent one evaluate alike (`has` is false, `.attr` an error, `in` only itself), and each
  // listed entity costs Cedar ~10-30 µs to take in, on every request.
  const entities: EntityJson[] = [
    {
      uid: principal,
      attrs: { issuer: identity.issuer, subject: identity.subject, claims },
      parents: identity.groups.map((g) => ({ type: 'Postern::Group', id: g })),
    },
    { uid: connection, attrs: { name: connectionName }, parents: [] },
  ];
  return { principal, connection, entities };
}

/** A table as a Cedar resource, child of the connection, from its id (`schema.name` or `name`). */
export function tableEntity(table: string, connection: EntityRef): EntityJson {
  const dot = table.lastIndexOf('.');
  return tableEntityOf(
    table,
    dot < 0 ? '' : table.slice(0, dot),
    dot < 0 ? table : table.slice(dot + 1),
    connection,
  );
}

/** A table as a Cedar resource with its schema and name given apart (a part may hold a dot). */
export function tableEntityOf(id: string, schema: string, name: string, connection: EntityRef): EntityJson {
  return {
    uid: { type: 'Postern::Table', id },
    attrs: { name, schema },
    parents: [connection],
  };
}

/** Cedar string literal (identifiers here never contain control characters: the API refuses them). */
export const cedarString = (s: string): string => JSON.stringify(s);

/**
 * Forwarding the target could turn against the caller (issue 11): agent forwarding lends it the
 * caller's keys, X11 its display, `ssh -R` a listener on the target's side into the caller's
 * network. An allow-list grants everything else; these only a policy that names them.
 */
const NOT_IMPLIED = `unless {
  action in [Postern::Action::"ssh:agent_forward", Postern::Action::"ssh:x11_forward"] ||
  (action == Postern::Action::"ssh:port_forward" && context.direction == "remote")
}`;

/**
 * A connection's allow-list (the spine's access list) as a policy: the listed subjects and
 * groups may do everything on the connection but agent/X11 forwarding and `ssh -R`
 * (NOT_IMPLIED). Finer rules are written as policies instead.
 */
export function allowListPolicy(allow: { subjects: string[]; groups: string[] }): string {
  const lines: string[] = [];
  for (const g of allow.groups)
    lines.push(`permit(principal in Postern::Group::${cedarString(g)}, action, resource) ${NOT_IMPLIED};`);
  for (const s of allow.subjects) {
    lines.push(
      `permit(principal, action, resource) when { principal.subject == ${cedarString(s)} } ${NOT_IMPLIED};`,
    );
  }
  return lines.join('\n');
}
