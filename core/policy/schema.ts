/**
 * Postern's published Cedar schema. Principals are the verified token's subject (User when the
 * token names a person by email, Workload otherwise), members of their Groups. Resources are the
 * Connection and the Tables a statement touches (a Table's parent is its Connection, so
 * `resource in Postern::Connection::"orders"` covers both). Columns (for `unmask`) are children of
 * Tables.
 *
 * Table ids are `schema.name` as the server resolves the name (search_path included; a part
 * holding `.` or `"` is double-quoted), with both parts as attributes, whenever some policy can
 * tell tables apart (core/policy/table-resolver.ts, docs/policy.md).
 *
 * SSH actions (core/ssh/ssh-gate.ts, docs/ssh.md "Policy") are on the Connection. Every one has
 * `login` (the target login the SSH user name selects) and `grants` in its context, and only
 * the facts its request carries besides, so the validator catches a policy that reads
 * `context.command` of a shell or `context.path` of an exec.
 *
 * Kubernetes actions (core/kube/kube-gate.ts, docs/kubernetes.md "Actions and facts") are on the
 * Connection too, with the request as the API server reads it in the context ('' where a fact
 * is absent: the core group, a cluster-wide request, no name); `deletecollection` names no
 * object, so it has no `name`; exec adds its command and container, attach and logs the
 * container, proxy the proxied path.
 */
export const CEDAR_SCHEMA = `namespace Postern {
  type Claims = {
    email?: String,
    repository?: String,
    ref?: String,
    environment?: String,
    workflow?: String,
    actor?: String,
    azp?: String,
  };
  entity Group;
  entity User in [Group] { issuer: String, subject: String, claims: Claims };
  entity Workload in [Group] { issuer: String, subject: String, claims: Claims };
  entity Connection { name: String };
  entity Table in [Connection] { name: String, schema: String };
  entity Column in [Table, Connection] { name: String, table: String };

  type SqlContext = {
    hasWhere: Bool,
    tables: Set<String>,
    functions: Set<String>,
    statementKind: String,
    grants: Set<String>,
  };

  action connect appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: { grants: Set<String> },
  };
  action unmask appliesTo {
    principal: [User, Workload],
    resource: [Column],
    context: { grants: Set<String> },
  };
  action "sql:select", "sql:insert", "sql:update", "sql:delete", "sql:ddl", "sql:truncate",
    "sql:grant", "sql:copy", "sql:copy_to_program", "sql:set_role", "sql:do_block", "sql:call",
    "sql:session", "sql:admin" appliesTo {
    principal: [User, Workload],
    resource: [Connection, Table],
    context: SqlContext,
  };

  action "ssh:login", "ssh:shell", "ssh:pty", "ssh:sftp", "ssh:agent_forward",
    "ssh:x11_forward" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: { login: String, grants: Set<String> },
  };
  action "ssh:exec" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: { login: String, grants: Set<String>, command: String, plain: Bool, program: String },
  };
  action "ssh:sftp_read", "ssh:sftp_write" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: { login: String, grants: Set<String>, operation: String, path: String },
  };
  action "ssh:port_forward" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: { login: String, grants: Set<String>, host: String, port: Long, direction: String },
  };

  type KubeContext = {
    grants: Set<String>, verb: String, apiGroup: String, apiVersion: String, namespace: String,
    resource: String, subresource: String, name: String,
  };
  action "k8s:get", "k8s:list", "k8s:watch", "k8s:create", "k8s:update", "k8s:patch",
    "k8s:delete", "k8s:portforward" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: KubeContext,
  };
  action "k8s:deletecollection" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: {
      grants: Set<String>, verb: String, apiGroup: String, apiVersion: String, namespace: String,
      resource: String, subresource: String,
    },
  };
  action "k8s:exec" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: {
      grants: Set<String>, verb: String, apiGroup: String, apiVersion: String, namespace: String,
      resource: String, subresource: String, name: String, command: String, container: String,
    },
  };
  action "k8s:attach", "k8s:logs" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: {
      grants: Set<String>, verb: String, apiGroup: String, apiVersion: String, namespace: String,
      resource: String, subresource: String, name: String, container: String,
    },
  };
  action "k8s:proxy" appliesTo {
    principal: [User, Workload],
    resource: [Connection],
    context: {
      grants: Set<String>, verb: String, apiGroup: String, apiVersion: String, namespace: String,
      resource: String, subresource: String, name: String, path: String,
    },
  };
}
`;

/** Claims copied from the token into the principal (the schema's Claims type). */
export const PRINCIPAL_CLAIMS = [
  'email',
  'repository',
  'ref',
  'environment',
  'workflow',
  'actor',
  'azp',
] as const;
