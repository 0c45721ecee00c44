/**
 * `GET /v1/connect/<connection>` (or `<connection>.<BASE_DOMAIN>`): a client's WebSocket.
 * Verifies the token, checks access, and hands the upgrade to a new SessionDO.
 */
import type { Context } from 'hono';
import type { Env } from '../../edge/env.ts';
import { authenticate } from '../auth/bearer.ts';
import type { SessionStart } from '../../edge/contracts/session-start.ts';
import { lookupConnection } from './connection-cache.ts';
import { httpError } from '../../edge/http-errors.ts';
import { NAME_PATTERN } from '../names.ts';
import { compiledPolicies, type PolicySetSpec } from '../../edge/policy/runtime.ts';
import type { Decision } from '../../core/policy/engine.ts';
import type { Identity } from '../../core/identity/identity.ts';
import { policySubject } from '../../core/policy/principal.ts';
import type { SessionGrant } from '../../edge/contracts/session-start.ts';
import { withControlPlane } from '../../edge/db/client.ts';
import { activeGrants, recordGrantSession } from '../../edge/db/grants-repo.ts';
import { BoundedCache } from '../../core/bounded-cache.ts';
import { dialAhead, undial } from '../../edge/session-dial.ts';

/**
 * The principal's active access grants on the connection, read only when a policy of the set
 * reads `context.grants` (the compiled set knows; a session's setup should not pay a database
 * round trip for nothing).
 * Failing to read them fails the connect: a grant can only add access, but a deny-by-default
 * gateway must not guess.
 *
 * A revocation (workers/api/access.ts) marks the grant revoked, then tells the sessions recorded
 * as holding it. So the session is recorded first and the grants are read again after: a
 * revocation committed before that second read is not used; one committed after it finds the
 * session and reaches the SessionDO (which takes it at any point of its start).
 */
export async function grantsFor(
  env: Env,
  policies: PolicySetSpec,
  connectionId: string,
  identity: Identity,
  sessionId: string,
): Promise<SessionGrant[]> {
  if (!compiledPolicies(policies).readsContext('grants')) return [];
  return withControlPlane(env, async (db) => {
    const q = { connectionId, issuer: identity.issuer, subject: identity.subject };
    const seen = await activeGrants(db, { ...q, now: new Date() });
    if (seen.length === 0) return [];
    await recordGrantSession(
      db,
      seen.map((r) => r.id),
      sessionId,
    );
    const held = new Set(seen.map((r) => r.id));
    // Only grants recorded above: one created meanwhile cannot reach this session when revoked.
    const rows = (await activeGrants(db, { ...q, now: new Date() })).filter((r) => held.has(r.id));
    return rows.map((r) => ({ id: r.id, action: r.action, expiresAt: r.expiresAt.getTime() }));
  });
}

export async function connectRoute(c: Context<{ Bindings: Env }>, connectionName: string): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    return httpError(426, 'upgrade_required', 'connect with a WebSocket (use `postern connect`)');
  }
  const identity = await authenticate(c.req.raw, c.env, new Date()); // throws → app.onError → generic 401
  // Not a name any connection can have: unknown, without asking the database (nor echoing it).
  if (!NAME_PATTERN.test(connectionName)) return httpError(404, 'connection_not_found', 'unknown connection');
  const cached = await lookupConnection(c.env, connectionName, Date.now());
  if (!cached) return httpError(404, 'connection_not_found', `unknown connection "${connectionName}"`);
  const { connection, policies } = cached;
  const id = c.env.SESSION.newUniqueId();
  const client = c.req.header('x-postern-client');
  const admitted = await admitSession(
    c.env,
    connection,
    policies,
    identity,
    id.toString(),
    new URL(c.req.url).origin,
    client ? client.slice(0, 128) : undefined,
  );
  if (!admitted.ok) return httpError(403, 'forbidden', admitted.message);
  const start = admitted.start;
  // The connector is asked to dial now, while the SessionDO prepares the session (compiles the
  // policy): the connector's work and the object's overlap. The object gets the channel token's
  // hash with the start and the dial's answer by `dialed`; a channel that comes before `begin`
  // waits for it; nothing reaches the target before the object has stored `session_open`
  // (docs/architecture.md, steps 3–5).
  const { dialing, dial } = await dialAhead(c.env, start, Date.now());
  start.dialing = dialing;
  // The parameters go by RPC (the policy set alone may be megabytes), then the upgrade itself.
  // Both are sent at once, without waiting for `begin`'s answer (one Worker-to-object round trip
  // less per session). workerd does not keep them in order (an RPC call and a fetch on one stub:
  // the fetch came first 200 times out of 200), so `/client` waits for the start (session-do.ts).
  const session = c.env.SESSION.get(id);
  const begun = session.begin(start);
  const opened = session.fetch(new Request('https://session/client', { headers: { Upgrade: 'websocket' } }));
  opened.catch(() => undefined); // awaited below unless `begin` failed
  // `/client` answers only once it has this (or gave up waiting): the request outlives the call.
  void dial.then((result) => session.dialed(result)).catch(() => undefined);
  if (!(await begun)) {
    // Another start was there first (the id is new, so never in practice): not this client's
    // session, whatever `/client` answered.
    void dial.then((d) => undial(c.env, start, dialing.record, d, new Date())).catch(() => undefined);
    void opened.then((r) => {
      r.webSocket?.accept();
      r.webSocket?.close(1011, 'session already started');
    });
    return httpError(409, 'conflict', 'session already started');
  }
  return opened;
}

/** What `admitSession` decides: the session's start parameters, or why `connect` is refused. */
export type Admission = { ok: true; start: SessionStart } | { ok: false; message: string };

/**
 * The part of starting a session that the WebSocket route and the Kubernetes route share: read
 * the principal's grants, decide `connect`, log a denial, and assemble the `SessionStart`.
 * Each route words the refusal its own way (an `ErrorResponse`, a Kubernetes `Status`).
 */
export async function admitSession(
  env: Env,
  connection: SessionStart['connection'],
  policies: PolicySetSpec,
  identity: Identity,
  sessionId: string,
  edgeUrl: string,
  client: string | undefined,
): Promise<Admission> {
  const grants = await grantsFor(env, policies, connection.id, identity, sessionId);
  const decision = connectDecision(policies, identity, connection.name, grants);
  if (decision.effect !== 'allow') {
    console.warn(
      JSON.stringify({
        msg: 'connect denied',
        connection: connection.name,
        subject: identity.subject,
        policies: decision.policies,
      }),
    );
    return {
      ok: false,
      message: `not allowed to use connection "${connection.name}" (no policy permits connect)`,
    };
  }
  const start: SessionStart = {
    sessionId,
    connection,
    identity,
    policies,
    edgeUrl,
    ...(grants.length > 0 ? { grants } : {}),
  };
  if (client !== undefined) start.client = client;
  return { ok: true, start };
}

/** The connection named by the Host header, when a base domain is configured. */
export function connectionFromHost(host: string | undefined, baseDomain: string | undefined): string | null {
  if (!host || !baseDomain) return null;
  const h = host.split(':')[0]!.toLowerCase();
  const suffix = '.' + baseDomain.toLowerCase();
  if (!h.endsWith(suffix)) return null;
  const label = h.slice(0, -suffix.length);
  return NAME_PATTERN.test(label) ? label : null;
}

const MAX_DECISIONS = 1000;
const decisions = new BoundedCache<Decision>(MAX_DECISIONS);

/**
 * `connect` for this principal under this policy set. A pure function of its inputs (the
 * policy set is keyed by content hash), so it is remembered per isolate: a CI job opening many
 * sessions pays for one Cedar evaluation.
 */
export function connectDecision(
  policies: PolicySetSpec,
  identity: Identity,
  connection: string,
  grants: SessionGrant[],
): Decision {
  const actions = grants.map((g) => g.action).sort();
  const key = JSON.stringify([
    actions,
    policies.key,
    identity.issuer,
    identity.subject,
    identity.groups,
    identity.attributes,
    connection,
  ]);
  const hit = decisions.get(key);
  if (hit) return hit;
  const subject = policySubject(identity, connection);
  const decision = compiledPolicies(policies).authorize({
    principal: subject.principal,
    action: 'connect',
    resource: subject.connection,
    context: { grants: actions },
    entities: subject.entities,
  });
  decisions.set(key, decision);
  return decision;
}
