/**
 * The admin API as the edge mounts it (at /api/v1), over a real control-plane Postgres, called
 * with app.request(). Every response body is kept so tests can check that no secret ever left.
 */
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { generateKeyringEntry } from '../../core/crypto/credentials.ts';
import { randomToken } from '../../core/crypto/secrets.ts';
import { createAdminApi } from '../../workers/api/index.ts';
import { errorToResponse } from '../../edge/http-errors.ts';
import type { Env } from '../../edge/env.ts';
import { startControlPlaneDb, type ControlPlaneDb } from './control-plane-db.ts';

export interface Replica {
  replicaId: string;
  hostname: string;
  version: string;
  connectedAt: string;
  activeSessions: number;
}

/** Response bodies are checked field by field by the tests' assertions, so they stay untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResult<T = Json> {
  status: number;
  text: string;
  body: T;
}

export interface ApiHarness {
  cp: ControlPlaneDb;
  env: Env;
  adminToken: string;
  /** Live replicas the stub ConnectorDO reports, by connector id. */
  replicas: Map<string, Replica[]>;
  /** Connector ids whose DO was told to disconnectAll(). */
  disconnected: string[];
  /** Every response body returned so far. */
  bodies: string[];
  call<T = Json>(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiResult<T>>;
  /** Like call() but with a raw body string and content type. */
  raw(method: string, path: string, body: string, contentType: string): Promise<ApiResult>;
  stop(): Promise<void>;
}

export async function startApiHarness(): Promise<ApiHarness> {
  const cp = await startControlPlaneDb();
  const replicas = new Map<string, Replica[]>();
  const disconnected: string[] = [];
  // The one stub: a Durable Object namespace cannot exist in Node (it is a workerd binding), and
  // the ConnectorDO has its own tests in the workers pool. It implements exactly the two RPC
  // methods the admin API calls, keyed the same way (idFromName(connector.id)).
  const CONNECTOR = {
    idFromName: (name: string) => ({ name }),
    get: (id: { name: string }) => ({
      listReplicas: async () => replicas.get(id.name) ?? [],
      disconnectAll: async () => {
        disconnected.push(id.name);
      },
    }),
  };
  const adminToken = randomToken('pat');
  const env = {
    DATABASE_URL: cp.DATABASE_URL,
    NEON_WS_PROXY: cp.NEON_WS_PROXY,
    CREDENTIAL_KEYS: generateKeyringEntry('k1'),
    ADMIN_BOOTSTRAP_TOKEN: adminToken,
    TRUSTED_ISSUERS: '[]',
    CONNECTOR,
  } as unknown as Env;

  const app = new Hono<{ Bindings: Env }>();
  app.onError((err) => errorToResponse(err)); // as the edge does (workers/index.ts)
  app.route('/api/v1', createAdminApi());

  const bodies: string[] = [];
  const pending: Promise<unknown>[] = [];
  // Like the Workers runtime: work handed to waitUntil finishes after the response.
  const executionCtx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException: () => {},
    props: {},
  };
  const send = async (init: RequestInit, path: string): Promise<ApiResult> => {
    const res = await app.request(`/api/v1${path}`, init, env, executionCtx as unknown as ExecutionContext);
    await Promise.all(pending.splice(0));
    const text = await res.text();
    bodies.push(text);
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    return { status: res.status, text, body };
  };

  return {
    cp,
    env,
    adminToken,
    replicas,
    disconnected,
    bodies,
    call: (method, path, body, token = adminToken) => {
      const headers: Record<string, string> = {};
      if (token !== null) headers['Authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      return send({ method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }, path);
    },
    raw: (method, path, body, contentType) =>
      send(
        { method, headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': contentType }, body },
        path,
      ),
    stop: () => cp.stop(),
  };
}

/** What a file's tests need before each of them (useApiHarness). */
export interface HarnessHooks {
  /**
   * Empty the control plane before each test (the tables below, the stub ConnectorDO's replicas
   * and disconnections); false keeps what a test wrote for the next (rows written once).
   */
  reset?: boolean;
  /** Before each test, after the reset: the rows the file's tests start from (`withConnector`). */
  each?: (h: ApiHarness) => Promise<void>;
}

/**
 * The one harness of a test file: started before its tests, stopped after them, reset before
 * each (HarnessHooks). Returns the harness as it will be once started: use it inside tests and
 * hooks, not at the file's top level. A file's own beforeAll may follow the call: vitest runs
 * `before` hooks in the order they are registered.
 */
export function useApiHarness(hooks: HarnessHooks = {}): ApiHarness {
  let started: ApiHarness | undefined;
  beforeAll(async () => {
    started = await startApiHarness();
  });
  afterAll(async () => {
    await started?.stop();
  });
  beforeEach(async () => {
    const h = started!;
    if (hooks.reset ?? true) {
      await h.cp.sql('TRUNCATE webhooks, policies, sessions, connections, connectors');
      h.replicas.clear();
      h.disconnected.length = 0;
    }
    await hooks.each?.(h);
  });
  return new Proxy({} as ApiHarness, {
    get: (_, key) => {
      if (!started) throw new Error('the API harness is used before its beforeAll started it');
      return Reflect.get(started, key);
    },
  });
}

/** Connector `dc1` (every connection body names it), checked created. */
export async function withConnector(h: ApiHarness): Promise<void> {
  expect((await h.call('POST', '/connectors', { name: 'dc1' })).status).toBe(201);
}

/** Connector `dc1` and connection `orders-db` (connectionBody with `overrides`), both checked created. */
export const withConnection =
  (overrides: Record<string, unknown> = {}) =>
  async (h: ApiHarness): Promise<void> => {
    await withConnector(h);
    expect((await h.call('POST', '/connections', connectionBody(overrides))).status).toBe(201);
  };

/** A valid POST /connections body; override what a test is about. */
export function connectionBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'orders-db',
    connector: 'dc1',
    target: { host: 'db.internal', port: 5432, tls: 'verify-full' },
    database: 'orders',
    username: 'app',
    credential: { password: 'correct horse battery staple' },
    allow: { subjects: ['alice'], groups: ['dba'] },
    ...overrides,
  };
}

/** The columns of a `connections` row the SSH connection tests read back (see docs/storage.md). */
export interface SshConnectionRow {
  id: string;
  protocol: string;
  target_tls: string;
  database: string | null;
  username: string | null;
  credential_key_id: string;
  credential_ciphertext: string;
  credential_secret_kind: string;
  ssh_host_key_key_id: string;
  ssh_host_key_ciphertext: string;
  ssh_host_public_keys: string[];
  ssh_target_host_key: string | null;
  ssh_target_host_key_learned_at: Date | null;
}
