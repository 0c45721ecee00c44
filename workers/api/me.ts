/**
 * `GET /api/v1/me/connections`: the connections the caller's own token may `connect` to, decided
 * by the same Cedar documents and the same decision as a session's setup
 * (workers/routes/connect.ts), with the caller's active grants in context. SSH connections come
 * with the gateway's host keys, so `postern ssh-config` can write a known_hosts file and OpenSSH
 * can run with `StrictHostKeyChecking yes`. A connection whose documents no longer compile is
 * left out (deny by default), and so is every connection past the bound.
 */
import type { Hono } from 'hono';
import { connectionsForListing } from '../../edge/db/connections-repo.ts';
import { activeGrantsOfPrincipal } from '../../edge/db/grants-repo.ts';
import { policiesForConnections } from '../../edge/db/policies-repo.ts';
import type { SessionGrant } from '../../edge/contracts/session-start.ts';
import { policySetOf } from '../../edge/policy/policy-set.ts';
import type { ConnectionProtocol } from '../../core/tunnel/protocol.ts';
import { connectDecision } from '../routes/connect.ts';
import { withDb, type UserEnv } from './user-api.ts';

/** How many connections one answer considers: each costs a Cedar evaluation (and maybe a compile). */
export const MAX_LISTED_CONNECTIONS = 200;
const MAX_GRANTS = 500;

export interface MyConnectionView {
  name: string;
  protocol: ConnectionProtocol;
  ssh?: { hostKeys: string[] };
}

export function meRoutes(api: Hono<UserEnv>): void {
  api.get('/me/connections', (c) =>
    withDb(c, async (db) => {
      const who = c.get('identity');
      // One more than the bound: to say the list was cut.
      const rows = await connectionsForListing(db, MAX_LISTED_CONNECTIONS + 1);
      const truncated = rows.length > MAX_LISTED_CONNECTIONS;
      const considered = rows.slice(0, MAX_LISTED_CONNECTIONS);
      const docs = await policiesForConnections(
        db,
        considered.map((r) => r.id),
      );
      const grants = await activeGrantsOfPrincipal(db, {
        issuer: who.issuer,
        subject: who.subject,
        now: new Date(),
        limit: MAX_GRANTS,
      });
      const out: MyConnectionView[] = [];
      for (const row of considered) {
        const held: SessionGrant[] = grants
          .filter((g) => g.connectionId === row.id)
          .map((g) => ({ id: g.id, action: g.action, expiresAt: g.expiresAt.getTime() }));
        let allowed: boolean;
        try {
          allowed = connectDecision(await policySetOf(row, docs), who, row.name, held).effect === 'allow';
        } catch {
          allowed = false; // a stored document that no longer compiles refuses sessions too
        }
        if (!allowed) continue;
        out.push({
          name: row.name,
          protocol: row.protocol,
          ...(row.protocol === 'ssh' ? { ssh: { hostKeys: row.sshHostPublicKeys ?? [] } } : {}),
        });
      }
      // kubectl's server for a Kubernetes connection is `https://<connection>.<baseDomain>` when
      // the edge has one (postern kube-config reads it).
      const baseDomain = c.env.BASE_DOMAIN;
      return c.json({
        connections: out,
        ...(truncated ? { truncated: true } : {}),
        ...(baseDomain ? { baseDomain } : {}),
      });
    }),
  );
}
