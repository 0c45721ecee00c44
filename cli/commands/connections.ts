/**
 * `postern connections list|show|create`: connections through the admin API (needs an admin
 * token). `create --protocol ssh` reads the target login's private key from a file, or names an
 * environment variable holding a password; `create --protocol kubernetes` reads a bearer token or
 * a client certificate and key from files, and the cluster CA from a file: no secret is typed on
 * a command line (where `ps` and shell history would keep it). `show` prints an SSH connection's
 * gateway host keys, the lines clients put in known_hosts.
 */
import { readFileSync, statSync } from 'node:fs';
import { STRING } from '../args.ts';
import { CliError } from '../errors.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  makeIo,
  oneOf,
  positiveInt,
  parseSubcommand,
  table,
  userApi,
  type Io,
} from './user-api.ts';

export interface ConnectionView {
  id: string;
  name: string;
  protocol: 'postgres' | 'ssh' | 'kubernetes';
  connector: string;
  target: { host: string; port: number; tls: string };
  /** Absent from edges before migration 0012. */
  reach?: 'connector' | 'direct';
  database?: string;
  username?: string;
  credential: { kind: string; ref?: string; secretKind?: string };
  allow: { subjects: string[]; groups: string[] };
  ssh?: { hostKeys: string[]; targetHostKey: string | null; targetHostKeyLearnedAt: string | null };
  kubernetes?: { ca: string | null; impersonate: boolean };
  createdAt: string;
  updatedAt: string;
}

const HELP: Record<string, string> = {
  list: `  list                 every connection: name, protocol, connector, target`,
  show: `  show <name>          one connection; for SSH, the gateway host keys (known_hosts lines)
                       and the target host key pin`,
  create: `  create <name>        a new connection:
                         --connector NAME --host HOST [--port N] [--tls MODE]
                         [--allow-groups G1,G2] [--allow-subjects S1,S2]
                       Postgres (default): --database DB --username USER and
                         --password-env VAR | --credential-ref env:NAME|file:/path
                         (--tls none, tls or postgres-starttls)
                         [--direct] the edge dials the target itself, no connector hop
                         (a public address, --tls postgres-starttls, --password-env; the
                         connector still keeps its sessions' cancel keys and records)
                       SSH: --protocol ssh and one of
                         --private-key-file FILE (OpenSSH or PKCS#8 PEM, ECDSA or RSA)
                         --password-env VAR
                         --credential-ref env:NAME|file:/path [--secret-kind private_key|password]
                         [--target-host-key "LINE" | --target-host-key @FILE] (from ssh-keyscan;
                         without it the first session learns the target's key and later ones
                         enforce it)
                       Kubernetes: --protocol kubernetes (port 6443 and tls by default),
                         [--ca-file FILE] (the cluster CA, PEM; else the connector's own) and one of
                         --token-file FILE (a service-account bearer token)
                         --client-cert-file FILE --client-key-file FILE (PEM)
                         --credential-ref env:NAME|file:/path
                           [--secret-kind bearer_token|client_certificate]
                         [--impersonate] (send Impersonate-User/-Group for the caller; the
                         credential then needs RBAC impersonate rights)`,
};

export const help = `Usage: postern connections <list|show|create> [name] [options]

Connections of a Postern edge, through its admin API (needs an admin: a token carrying the admin
group, or the bootstrap admin token). Secrets are write-only: no command prints them back.

${Object.values(HELP).join('\n')}

${COMMON_HELP}

Examples:
  postern connections create web-1 --protocol ssh --connector dc1 --host 10.0.0.7 \\
    --private-key-file ~/.ssh/postern_web --allow-groups ops --token "$ADMIN_TOKEN"
  postern connections create prod --protocol kubernetes --connector dc1 --host kube-api.internal \\
    --ca-file ca.crt --token-file sa.token --impersonate --allow-groups sre --token "$ADMIN_TOKEN"
  postern connections show web-1
  postern connections list --json
`;

const CREATE_OPTIONS = {
  protocol: STRING,
  connector: STRING,
  host: STRING,
  port: STRING,
  tls: STRING,
  database: STRING,
  username: STRING,
  'password-env': STRING,
  'private-key-file': STRING,
  'credential-ref': STRING,
  'secret-kind': STRING,
  'target-host-key': STRING,
  'ca-file': STRING,
  'token-file': STRING,
  'client-cert-file': STRING,
  'client-key-file': STRING,
  impersonate: { type: 'boolean', default: false },
  direct: { type: 'boolean', default: false },
  'allow-groups': STRING,
  'allow-subjects': STRING,
} as const;

/** The flags of a subcommand (cli/args.ts parses them; cli/args.test.ts checks them). */
export function optionsFor(sub: string) {
  return { ...COMMON_OPTIONS, ...(sub === 'create' ? CREATE_OPTIONS : {}) } as const;
}

/** Largest key, token, certificate or CA file read: an OpenSSH RSA 8192-bit key is about 6.5 KB. */
const MAX_KEY_FILE_BYTES = 16 * 1024;

function readSmallFile(path: string, flag: string): string {
  try {
    if (statSync(path).size > MAX_KEY_FILE_BYTES)
      throw new CliError('usage', `${flag} ${path}: larger than 16 KB`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      'usage',
      `${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The POST /connections body the flags describe; refuses flags that do not fit the protocol. */
/** The flags that give a connection's credential, by protocol: exactly one is needed. */
const SECRET_FLAGS_OF = {
  postgres: ['password-env', 'credential-ref'],
  ssh: ['password-env', 'private-key-file', 'credential-ref'],
  kubernetes: ['token-file', 'client-cert-file', 'credential-ref'],
} as const;

export function createBody(
  name: string,
  f: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): unknown {
  const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
  const protocol = oneOf('--protocol', str('protocol') ?? 'postgres', ['postgres', 'ssh', 'kubernetes']);
  const need = (flag: string) => {
    const v = str(flag);
    if (!v) throw new CliError('usage', `create needs --${flag}`);
    return v;
  };
  const SECRET_FLAGS = SECRET_FLAGS_OF[protocol as keyof typeof SECRET_FLAGS_OF];
  const secrets = SECRET_FLAGS.filter((k) => str(k) !== undefined);
  if (secrets.length !== 1)
    throw new CliError('usage', `give exactly one of ${SECRET_FLAGS.map((k) => `--${k}`).join(', ')}`);
  const only = (flags: string[], why: string) => {
    for (const k of flags)
      if (f[k] !== undefined && f[k] !== false) throw new CliError('usage', `--${k} ${why}`);
  };
  let credential: Record<string, string>;
  if (str('password-env') !== undefined) {
    const password = env[str('password-env')!];
    if (!password)
      throw new CliError(
        'usage',
        `--password-env: environment variable ${str('password-env')} is empty or unset`,
      );
    credential = { password };
  } else if (str('private-key-file') !== undefined) {
    credential = { privateKey: readSmallFile(str('private-key-file')!, '--private-key-file') };
  } else if (str('token-file') !== undefined) {
    // Files written by kubectl or `kubectl create token > f` end with a newline: not the token's.
    credential = { token: readSmallFile(str('token-file')!, '--token-file').trim() };
  } else if (str('client-cert-file') !== undefined) {
    const keyFile = need('client-key-file');
    credential = {
      clientCertificate: readSmallFile(str('client-cert-file')!, '--client-cert-file'),
      clientKey: readSmallFile(keyFile, '--client-key-file'),
    };
  } else {
    credential = { ref: str('credential-ref')! };
    const kinds =
      protocol === 'kubernetes' ? ['bearer_token', 'client_certificate'] : ['private_key', 'password'];
    if (str('secret-kind') !== undefined)
      credential['secretKind'] = oneOf('--secret-kind', str('secret-kind')!, kinds);
  }
  if (str('client-key-file') !== undefined && str('client-cert-file') === undefined)
    throw new CliError('usage', '--client-key-file goes with --client-cert-file');
  const target: Record<string, unknown> = { host: need('host') };
  if (str('port') !== undefined) target['port'] = positiveInt('--port', str('port')!, 65535);
  if (str('tls') !== undefined) target['tls'] = str('tls');
  const body: Record<string, unknown> = {
    name,
    protocol,
    connector: need('connector'),
    target,
    credential,
    allow: { groups: list(str('allow-groups')), subjects: list(str('allow-subjects')) },
  };
  const KUBE_FLAGS = ['ca-file', 'impersonate'];
  if (protocol !== 'postgres' && f['direct'] === true)
    throw new CliError('usage', '--direct is for Postgres connections');
  if (protocol === 'postgres') {
    only(['private-key-file', 'target-host-key', 'secret-kind'], 'is for SSH connections (--protocol ssh)');
    only(KUBE_FLAGS, 'is for Kubernetes connections (--protocol kubernetes)');
    body['database'] = need('database');
    body['username'] = need('username');
    if (target['port'] === undefined) target['port'] = 5432;
    if (f['direct'] === true) {
      if (str('credential-ref') !== undefined)
        throw new CliError(
          'usage',
          '--direct needs --password-env: the edge keeps the credential sealed (there is no connector to resolve --credential-ref)',
        );
      body['reach'] = 'direct';
    }
  } else if (protocol === 'ssh') {
    only(
      ['database', 'username'],
      'is for Postgres connections: the SSH user name the client types selects the login',
    );
    only(KUBE_FLAGS, 'is for Kubernetes connections (--protocol kubernetes)');
    const pin = str('target-host-key');
    if (pin !== undefined) {
      const line = pin.startsWith('@')
        ? readSmallFile(pin.slice(1), '--target-host-key').trim().split('\n')[0]!
        : pin;
      body['ssh'] = { targetHostKey: line };
    }
  } else {
    only(
      ['database', 'username', 'password-env'],
      'is not for Kubernetes connections (the credential is a token or a client certificate)',
    );
    only(['private-key-file', 'target-host-key'], 'is for SSH connections (--protocol ssh)');
    const ca = str('ca-file');
    body['kubernetes'] = {
      impersonate: f['impersonate'] === true,
      ...(ca !== undefined ? { ca: readSmallFile(ca, '--ca-file') } : {}),
    };
  }
  if (str('secret-kind') !== undefined && str('credential-ref') === undefined)
    throw new CliError('usage', '--secret-kind goes with --credential-ref');
  return body;
}

export function showText(c: ConnectionView): string {
  const lines = [
    `${c.name} (${c.protocol}) via connector ${c.connector}`,
    `  target:      ${c.target.host}:${c.target.port} tls=${c.target.tls}${c.reach === 'direct' ? ' (direct: the edge dials it)' : ''}`,
  ];
  if (c.protocol === 'postgres') lines.push(`  database:    ${c.database ?? ''} as ${c.username ?? ''}`);
  const secret = c.credential.secretKind ? ` (${c.credential.secretKind.replace('_', ' ')})` : '';
  lines.push(
    `  credential:  ${c.credential.kind === 'connector_ref' ? `resolved by the connector from ${c.credential.ref}` : 'stored encrypted'}${secret}`,
    `  allow:       groups ${c.allow.groups.join(', ') || '-'}; subjects ${c.allow.subjects.join(', ') || '-'}`,
  );
  if (c.kubernetes) {
    const certs = c.kubernetes.ca?.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    lines.push(
      `  cluster CA:  ${certs ? `${certs} certificate(s) (--json shows the PEM)` : "none: the connector's --ca-file or system roots verify"}`,
      `  impersonate: ${c.kubernetes.impersonate ? 'yes (Impersonate-User/-Group name the caller; the credential needs RBAC impersonate)' : 'no (the cluster sees the connection credential)'}`,
    );
  }
  if (c.ssh) {
    lines.push(
      '  gateway host keys (what clients trust for this connection; postern ssh-config writes them):',
    );
    for (const k of c.ssh.hostKeys) lines.push(`    ${k}`);
    lines.push(
      `  target host key: ${
        c.ssh.targetHostKey
          ? `${c.ssh.targetHostKey}${c.ssh.targetHostKeyLearnedAt ? ` (learned ${c.ssh.targetHostKeyLearnedAt})` : ' (set by an admin)'}`
          : 'not pinned yet: the next session learns it'
      }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[], partialIo: Partial<Io> = {}): Promise<number> {
  const io = makeIo(partialIo);
  const p = parseSubcommand(argv, io, {
    command: 'connections',
    usage: help,
    help: HELP,
    names: 'list, show or create',
    options: optionsFor,
    arg: (sub) => (sub === 'list' ? '' : ' <name>'),
  });
  if (typeof p === 'number') return p;
  const { sub, values, out } = p;
  const name = p.arg();
  if (sub === 'list') {
    if (name !== undefined)
      throw new CliError('usage', `list takes no argument (use: postern connections show ${name})`);
    const api = await userApi(values, io);
    const page = await api.call<{ connections: ConnectionView[] }>('GET', '/connections');
    out(
      page,
      page.connections.length
        ? table(
            ['NAME', 'PROTOCOL', 'CONNECTOR', 'TARGET', 'TLS'],
            page.connections.map((c) => [
              c.name,
              c.protocol,
              c.connector,
              `${c.target.host}:${c.target.port}`,
              c.target.tls,
            ]),
          )
        : 'no connections\n',
    );
    return 0;
  }
  if (!name || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name))
    throw new CliError('usage', `${sub} needs a connection name (lower-case letters, digits, hyphens)`);
  if (sub === 'show') {
    const api = await userApi(values, io);
    const c = await api.call<ConnectionView>('GET', `/connections/${name}`, undefined, `connection ${name}`);
    out(c, showText(c));
    return 0;
  }
  const body = createBody(name, values as unknown as Record<string, string | boolean | undefined>, io.env);
  const api = await userApi(values, io);
  const c = await api.call<ConnectionView>('POST', '/connections', body, `connection ${name}`);
  out(c, `created ${c.name}\n${showText(c)}`);
  return 0;
}
