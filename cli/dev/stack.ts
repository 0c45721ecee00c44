/**
 * The whole Postern stack on one machine, on embedded defaults: a real Postgres (control plane
 * + demo target), a real OpenID provider, the WebSocket relay the Neon driver needs, the edge in
 * Miniflare, a seeded connector and connection, and a running connector. `postern dev`,
 * the end-to-end tests and the benchmark all start it through `startStack`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startPgCluster, type PgCluster } from './pg-cluster.ts';
import { startNeonRelay } from './neon-relay.ts';
import { startOidcProvider } from './oidc-provider.ts';
import type { DemoPerson } from './oidc-login.ts';
import { freePort } from './free-port.ts';
import { buildEdge, startEdge, type Edge } from './edge.ts';
import { buildConsole } from './console-bundle.ts';
import { DEMO_CONNECTION, prepareDatabases, seed } from './demo-postgres.ts';
import { startLocalConnector } from './stack-connector.ts';
import { AdminClient } from './admin-client.ts';
import { seedDemoSsh, startDemoSsh, DEMO_SSH_CONNECTION, type DemoSsh } from './demo-ssh.ts';
import { seedDemoKube, startDemoKube, DEMO_KUBE_CONNECTION, type DemoKube } from './demo-kube.ts';
import { startTlsFront } from './tls-front.ts';
import { forgetRun, recordRun, stopPreviousRun } from './previous-run.ts';
import { endSessionsAtStop, endSessionsOfPreviousRun } from './stack-sessions.ts';
import { loadSecrets } from './stack-secrets.ts';
import type { KubeStandIn } from '../../test/kube/server.ts';

// oidc-provider requires resource indicators to be absolute URIs (RFC 8707 §2).
export const AUDIENCE = 'urn:postern';
export { DEMO_CONNECTION } from './demo-postgres.ts';
export const DEMO_GROUP = 'demo';
export const ADMIN_GROUP = 'postern-admins';
/** The demo policy holds DDL for approval by this group (cli/dev/demo-policy.ts). */
export const APPROVER_GROUP = 'dba';
/** The web console's client at the local OpenID provider (docs/console.md). */
export const CONSOLE_CLIENT_ID = 'postern-console';

/** The demo people of the web console, without their passwords (kept in secrets.json). */
const DEMO_PEOPLE = [
  { role: 'requester', name: 'Rita Requester', groups: [DEMO_GROUP] },
  { role: 'approver', name: 'Abe Approver', groups: [DEMO_GROUP, APPROVER_GROUP] },
  { role: 'admin', name: 'Ada Admin', groups: [ADMIN_GROUP] },
] as const;
export type DemoRole = (typeof DEMO_PEOPLE)[number]['role'];

export interface StackOptions {
  root: string;
  /** Where data and generated secrets live. */
  stateDir: string;
  /** Keep data and secrets from a previous run (npm start); tests start clean. */
  reuse: boolean;
  /** `kube`: the demo cluster; `kubeTls`: the edge over TLS for kubectl (cli/dev/tls-front.ts). */
  ports?: { edge?: number; pg?: number; oidc?: number; ssh?: number; kube?: number; kubeTls?: number };
  /** Extra pg_hba.conf lines (tests add md5/password users). */
  hbaLines?: string[];
  /** Server settings over pg-cluster.ts' defaults (the scale run raises `max_connections`). */
  pgSettings?: Record<string, string>;
  /**
   * Start a connector: in this process (npm start), as a child process like a real deployment
   * (the benchmark, so the hops do not share one event loop), or not at all (tests that kill
   * connectors start their own).
   */
  connector?: boolean | 'process';
  /**
   * More OpenID clients (a second approver, a requester without groups...); their secrets are
   * new on every run and come back in `Stack.extraClients`.
   */
  extraClients?: Array<{ clientId: string; groups: string[]; ttlSeconds?: number }>;
  /** Start the demo sshd and the demo SSH connection (cli/dev/demo-ssh.ts); off unless asked. */
  ssh?: boolean;
  /**
   * Start the demo cluster (a STAND-IN API server, test/kube/) and the demo Kubernetes
   * connection (cli/dev/demo-kube.ts); off unless asked.
   */
  kube?: boolean;
  /** The edge's BASE_DOMAIN: `<connection>.<baseDomain>` routes to that connection. */
  baseDomain?: string;
  log?: (msg: string) => void;
  /**
   * Aborted (`postern dev` got a signal while starting): what started is stopped and the start
   * rejects with the signal's reason, after the step under way.
   */
  signal?: AbortSignal;
  /** Lines the edge runtime prints (console output of the Worker and DOs). */
  onEdgeLog?: (line: string) => void;
  /**
   * The Worker bundle buildEdge() already wrote, with the console beside it: the e2e tests build
   * both once per run (test/e2e/edge-build.setup.ts) rather than once per stack.
   */
  edgeScript?: string;
}

export interface Stack {
  edgeUrl: string;
  adminToken: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  adminClientId: string;
  adminClientSecret: string;
  /** A client in the approver group ("dba"): it approves the demo's held DDL. */
  approverClientId: string;
  approverClientSecret: string;
  /** clientId → secret of `StackOptions.extraClients`. */
  extraClients: Record<string, string>;
  /** The web console (the edge's origin) and the people who sign in to it with a password. */
  consoleUrl: string;
  people: Record<DemoRole, DemoPerson>;
  connection: string;
  targetDsn: string;
  pg: PgCluster;
  connectorToken: string;
  admin: AdminClient;
  edge: Edge;
  /** The edge's path to the control-plane database (the Neon relay); tests cut it. */
  controlPlane: { setReachable(yes: boolean): void };
  /** The demo SSH target and connection when `ssh` was asked for, or why it is not there. */
  ssh: DemoSsh | null;
  /** The demo cluster (a stand-in) and connection when `kube` was asked for, or why it is not there. */
  kube: DemoKube | null;
  ports: { edge: number; pg: number; oidc: number };
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => {});
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  const check = () => opts.signal?.throwIfAborted();
  try {
    check();
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const leftovers = await stopPreviousRun(opts.stateDir, join(opts.stateDir, 'pg'));
    if (leftovers.length) log(`stopped what a previous run left running: ${leftovers.join(', ')}`);
    recordRun(opts.stateDir); // this process first: a second stack on this directory refuses
    stops.push(async () => forgetRun(opts.stateDir)); // runs last
    const secretsFile = join(opts.stateDir, 'secrets.json');
    const secrets = loadSecrets(secretsFile, opts.reuse);
    const save = () => writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    save();

    let buildPromise: Promise<string>;
    if (opts.edgeScript) buildPromise = Promise.resolve(opts.edgeScript);
    else {
      log('building the web console and the edge Worker (wrangler deploy --dry-run)…');
      buildConsole(opts.root); // first: wrangler reads the [assets] directory it writes
      buildPromise = buildEdge(opts.root);
    }

    const pgPort = await freePort(opts.ports?.pg);
    log(`starting Postgres on 127.0.0.1:${pgPort}…`);
    const cluster = await startPgCluster({
      dataDir: join(opts.stateDir, 'pg'),
      port: pgPort,
      superuserPassword: secrets.superuserPassword,
      reuse: opts.reuse,
      // The edge's control-plane role logs in with a cleartext password over loopback, as the Neon
      // driver does against Neon's proxy (over TLS there); scram would cost the Worker a JS
      // PBKDF2 per connection (measured ~40 ms CPU), which real Neon never asks of it.
      hbaLines: ['host postern postern_cp 127.0.0.1/32 password', ...(opts.hbaLines ?? [])],
      ...(opts.pgSettings ? { settings: opts.pgSettings } : {}),
    });
    stops.push(() => cluster.stop());
    check();
    await prepareDatabases(cluster, secrets, opts.root);
    const controlPlaneDsn = cluster.dsn('postern', 'postern_cp', secrets.controlPlanePassword);
    // No edge runs yet: whatever a previous run left open is dead (cli/dev/stack-sessions.ts).
    const lost = await endSessionsOfPreviousRun(controlPlaneDsn);
    if (lost.length) log(`${lost.length} session(s) a previous run left open: ended, reason unknown`);
    // Runs after the edge has stopped, before Postgres does.
    stops.push(async () => {
      const ended = await endSessionsAtStop(controlPlaneDsn).catch((e: Error) =>
        log(`ending open sessions: ${e.message}`),
      );
      if (ended?.length) log(`${ended.length} open session(s) ended: edge-stopped`);
    });
    check();

    let ssh: DemoSsh | null = null;
    if (opts.ssh) {
      const started = await startDemoSsh(opts.stateDir, opts.ports?.ssh);
      if ('sshd' in started) {
        stops.push(() => started.sshd.stop());
        log(`demo SSH target: sshd on 127.0.0.1:${started.sshd.port}, login "${started.sshd.login}"`);
      } else log(`no demo SSH target: ${started.unavailable}`);
      ssh =
        'sshd' in started
          ? { sshd: started.sshd, connection: DEMO_SSH_CONNECTION, login: started.sshd.login }
          : started;
      check();
    }
    let kube: DemoKube | null = null;
    let standIn: KubeStandIn | undefined;
    if (opts.kube) {
      const started = await startDemoKube(opts.ports?.kube);
      if ('standIn' in started) {
        standIn = started.standIn;
        stops.push(() => started.standIn.stop());
        log(`demo cluster: a STAND-IN Kubernetes API server (test/kube/) on ${started.standIn.url}`);
      } else {
        log(`no demo cluster: ${started.unavailable}`);
        kube = started;
      }
      check();
    }
    // The connector dials only these (connector/allowlist.ts).
    const allow = [
      cluster.port,
      ...(ssh && 'sshd' in ssh ? [ssh.sshd.port] : []),
      ...(standIn ? [Number(new URL(standIn.url).port)] : []),
    ]
      .map((port) => `127.0.0.1:${port}`)
      .join(',');

    const relay = await startNeonRelay({ allow: [{ host: '127.0.0.1', port: cluster.port }] });
    stops.push(() => relay.stop());

    const clientId = 'demo-client';
    const adminClientId = 'demo-admin';
    const approverClientId = 'demo-approver';
    for (const c of opts.extraClients ?? [])
      if ([clientId, adminClientId, approverClientId].includes(c.clientId))
        throw new Error(`extraClients: "${c.clientId}" is one of the stack's own clients`);
    const extraClients = Object.fromEntries(
      (opts.extraClients ?? []).map((c) => [c.clientId, randomBytes(24).toString('base64url')]),
    );
    // The edge's port first: the console client's redirect URI names it.
    const edgePort = await freePort(opts.ports?.edge);
    const people = Object.fromEntries(
      DEMO_PEOPLE.map((p) => [
        p.role,
        {
          username: p.role,
          password: secrets.people[p.role],
          subject: p.role,
          email: `${p.role}@example.com`,
          name: p.name,
          groups: [...p.groups],
        },
      ]),
    ) as Record<DemoRole, DemoPerson>;
    const oidc = await startOidcProvider({
      people: Object.values(people),
      consoleClient: {
        clientId: CONSOLE_CLIENT_ID,
        clientSecret: secrets.consoleClientSecret,
        redirectUri: `http://127.0.0.1:${edgePort}/auth/callback`,
      },
      ...(opts.ports?.oidc !== undefined ? { port: await freePort(opts.ports.oidc) } : {}),
      audience: AUDIENCE,
      clients: [
        { clientId, clientSecret: secrets.clientSecret, groups: [DEMO_GROUP] },
        { clientId: adminClientId, clientSecret: secrets.adminClientSecret, groups: [ADMIN_GROUP] },
        { clientId: approverClientId, clientSecret: secrets.approverClientSecret, groups: [APPROVER_GROUP] },
        ...(opts.extraClients ?? []).map((c) => ({ ...c, clientSecret: extraClients[c.clientId]! })),
      ],
    });
    stops.push(() => oidc.stop());

    const script = await buildPromise;
    check();
    const edge = await startEdge(
      {
        root: opts.root,
        port: edgePort,
        bindings: {
          DATABASE_URL: controlPlaneDsn,
          NEON_WS_PROXY: relay.wsProxy,
          TRUSTED_ISSUERS: JSON.stringify([
            { issuer: oidc.issuer, audience: AUDIENCE, console: { clientId: CONSOLE_CLIENT_ID } },
          ]),
          CONSOLE_CLIENT_SECRETS: JSON.stringify({ [oidc.issuer]: secrets.consoleClientSecret }),
          CONSOLE_SESSION_KEY: secrets.consoleSessionKey,
          ALLOW_INSECURE_ISSUERS: '1',
          // The demo Postgres is on 127.0.0.1 without TLS: direct connections to it are dev-only.
          ALLOW_PRIVATE_DIRECT_TARGETS: '1',
          ADMIN_GROUP,
          ADMIN_BOOTSTRAP_TOKEN: secrets.adminToken,
          CREDENTIAL_KEYS: secrets.credentialKeys,
          ...(opts.baseDomain ? { BASE_DOMAIN: opts.baseDomain } : {}),
        },
        ...(opts.reuse ? { persistDir: join(opts.stateDir, 'do') } : {}),
        ...(opts.onEdgeLog ? { onLog: opts.onEdgeLog } : {}),
      },
      script,
    );
    stops.push(() => edge.stop());
    log(`edge listening on ${edge.url}`);
    check();

    const admin = new AdminClient(edge.url, secrets.adminToken);
    const connectorToken = await seed(admin, secrets, cluster.port);
    save();
    check();
    if (ssh && 'sshd' in ssh) {
      const refused = await seedDemoSsh(admin, ssh.sshd);
      if (refused) {
        log(`the edge refused the demo SSH connection: ${refused}`);
        ssh = { unavailable: `the edge refused the demo SSH connection: ${refused}` };
      }
    }
    if (standIn) {
      const refused = await seedDemoKube(admin, standIn);
      if (refused) {
        log(`the edge refused the demo Kubernetes connection: ${refused}`);
        kube = { unavailable: `the edge refused the demo Kubernetes connection: ${refused}` };
      } else {
        const front = await startTlsFront(edge.url, await freePort(opts.ports?.kubeTls));
        stops.push(() => front.stop());
        // Where `postern kube-config --certificate-authority` reads it; new on every start.
        const frontCaFile = join(opts.stateDir, 'edge-tls-ca.pem');
        writeFileSync(frontCaFile, front.caPem);
        log(`edge over TLS for kubectl on ${front.url}`);
        kube = { standIn, connection: DEMO_KUBE_CONNECTION, front, frontCaFile };
      }
      check();
    }

    await startLocalConnector({
      mode: opts.connector,
      root: opts.root,
      edgeUrl: edge.url,
      connectorToken,
      allow,
      admin,
      log,
      stops,
    });
    check();
    recordRun(opts.stateDir, [opts.stateDir, `127.0.0.1:${edge.port}`]); // and what it started

    return {
      edgeUrl: edge.url,
      adminToken: secrets.adminToken,
      issuer: oidc.issuer,
      clientId,
      clientSecret: secrets.clientSecret,
      adminClientId,
      adminClientSecret: secrets.adminClientSecret,
      approverClientId,
      approverClientSecret: secrets.approverClientSecret,
      extraClients,
      consoleUrl: `${edge.url}/`,
      people,
      connection: DEMO_CONNECTION,
      targetDsn: cluster.dsn('demo', 'demo_app', secrets.demoPassword),
      pg: cluster,
      connectorToken,
      admin,
      edge,
      controlPlane: { setReachable: (yes) => relay.setReachable(yes) },
      ssh,
      kube,
      ports: { edge: edgePort, pg: cluster.port, oidc: Number(new URL(oidc.issuer).port) },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A client-credentials access token from the stack's OpenID provider (the demo client by default). */
export async function stackToken(
  stack: Stack,
  clientId = stack.clientId,
  secret = stack.clientSecret,
): Promise<string> {
  const disc = (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
  };
  const res = await fetch(disc.token_endpoint, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: AUDIENCE }),
  });
  if (!res.ok) throw new Error(`token endpoint: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
