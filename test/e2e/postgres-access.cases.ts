/**
 * Who and what reaches the target on the Postgres path, end to end: the gateway's own login to
 * the target (each authentication method Postgres asks for, a wrong injected credential), the
 * connector's side (credential references it resolves, its allowlist) and the identity checks
 * at the edge (unknown connection, untrusted token, allow-list, the recorded session). Run by
 * test/e2e/postgres-path.test.ts on its stack and its `spine` connection.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_USERS,
  clientEnv,
  fetchToken,
  psql,
  startConnect,
  type Proc,
  type TestStack,
} from './harness.ts';

/** The cases, on the stack and the `postern connect` of the open `spine` connection `on` gives. */
export function postgresAccessCases(on: () => { stack: TestStack; connect: Proc & { port: number } }): void {
  let stack: TestStack;
  let connect: Proc & { port: number };
  beforeAll(() => {
    ({ stack, connect } = on());
  });

  describe('upstream authentication methods', () => {
    beforeAll(async () => {
      for (const [kind, u] of Object.entries(AUTH_USERS)) {
        await stack.pg.query(
          `SET password_encryption = '${kind === 'md5' ? 'md5' : 'scram-sha-256'}'; CREATE ROLE ${u.user} LOGIN PASSWORD '${u.password}'`,
        );
        await stack.admin.post('/connections', {
          name: `demo-${kind}`,
          protocol: 'postgres',
          connector: 'local',
          target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
          database: 'demo',
          username: u.user,
          credential: { password: u.password },
          allow: { subjects: [], groups: ['demo'] },
        });
      }
    });

    for (const kind of Object.keys(AUTH_USERS)) {
      it(`logs in to a target that asks for ${kind} authentication`, async () => {
        const c = await startConnect(stack, `demo-${kind}`, clientEnv(stack));
        try {
          const r = await psql(c.port, 'select current_user');
          expect(r.stderr).toBe('');
          expect(r.stdout.trim()).toBe(AUTH_USERS[kind as keyof typeof AUTH_USERS].user);
        } finally {
          await c.stop();
        }
      });
    }

    it('tells the client when the injected credentials are wrong, without leaking them', async () => {
      await stack.admin.post('/connections', {
        name: 'demo-badpw',
        protocol: 'postgres',
        connector: 'local',
        target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
        database: 'demo',
        username: 'demo_app',
        credential: { password: 'definitely-wrong-password' },
        allow: { subjects: [], groups: ['demo'] },
      });
      const c = await startConnect(stack, 'demo-badpw', clientEnv(stack));
      try {
        const r = await psql(c.port, 'select 1');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('could not log in to the target database');
        expect(r.stderr).not.toContain('definitely-wrong-password');
      } finally {
        await c.stop();
      }
    });
  });

  describe('connector-side policy', () => {
    it('resolves a credential reference from the connector environment (never stored at the edge)', async () => {
      process.env['POSTERN_E2E_DEMO_PW'] = new URL(stack.targetDsn).password
        ? decodeURIComponent(new URL(stack.targetDsn).password)
        : '';
      await stack.admin.post('/connections', {
        name: 'demo-ref',
        protocol: 'postgres',
        connector: 'local',
        target: { host: '127.0.0.1', port: stack.pg.port, tls: 'disable' },
        database: 'demo',
        username: 'demo_app',
        credential: { ref: 'env:POSTERN_E2E_DEMO_PW' },
        allow: { subjects: [], groups: ['demo'] },
      });
      const stored = await stack.pg.query(
        `select credential_ciphertext, credential_ref from connections where name = 'demo-ref'`,
        'postern',
      );
      expect(stored.rows[0]).toEqual({
        credential_ciphertext: null,
        credential_ref: 'env:POSTERN_E2E_DEMO_PW',
      });
      const c = await startConnect(stack, 'demo-ref', clientEnv(stack));
      try {
        const r = await psql(c.port, 'select current_user');
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe('demo_app');
      } finally {
        await c.stop();
      }
    });

    it('refuses a target outside the connector allowlist, whatever the edge asks', async () => {
      await stack.admin.post('/connections', {
        name: 'demo-forbidden',
        protocol: 'postgres',
        connector: 'local',
        target: { host: '127.0.0.1', port: stack.pg.port + 1, tls: 'disable' },
        database: 'demo',
        username: 'demo_app',
        credential: { password: 'x' },
        allow: { subjects: [], groups: ['demo'] },
      });
      const c = await startConnect(stack, 'demo-forbidden', clientEnv(stack));
      try {
        const r = await psql(c.port, 'select 1');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("not in the connector's allowlist");
      } finally {
        await c.stop();
      }
    });
  });

  describe('identity at the edge', () => {
    it('refuses an unknown connection with a clear message', async () => {
      const c = await startConnect(stack, 'no-such-connection', clientEnv(stack));
      try {
        const r = await psql(c.port, 'select 1');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('unknown connection');
      } finally {
        await c.stop();
      }
    });

    it('refuses a token that is not a valid OIDC token from a trusted issuer', async () => {
      const c = await startConnect(stack, 'demo', { POSTERN_TOKEN: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
      try {
        const r = await psql(c.port, 'select 1');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('token rejected');
      } finally {
        await c.stop();
      }
    });

    it('refuses an identity that is not on the connection allow-list', async () => {
      const token = await fetchToken(stack, stack.adminClientId, stack.adminClientSecret); // admin group only
      const c = await startConnect(stack, 'spine', { POSTERN_TOKEN: token });
      try {
        const r = await psql(c.port, 'select 1');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('not allowed to use connection');
      } finally {
        await c.stop();
      }
    });

    it('records sessions with the verified identity in the control plane', async () => {
      await psql(connect.port, 'select 42');
      const deadline = Date.now() + 10_000;
      let sessions: Array<{
        subject: string;
        connectionName?: string;
        connection?: string;
        endedAt: string | null;
      }> = [];
      while (Date.now() < deadline) {
        const body = await stack.admin.get<{ sessions: typeof sessions }>('/sessions?connection=spine');
        sessions = body.sessions;
        if (sessions.some((s) => s.endedAt)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.every((s) => s.subject === stack.clientId)).toBe(true);
      expect(sessions.some((s) => s.endedAt)).toBe(true);
    });
  });
}
