/**
 * A real control-plane database for the workers pool (globalSetup, in Node): the fresh cluster,
 * migrations and Neon WebSocket relay of test/control-plane, handed to the pool's bindings
 * (DATABASE_URL, NEON_WS_PROXY; vitest.config.ts) with vitest's provide/inject. The Worker and
 * the Durable Objects reach it as in production, through @neondatabase/serverless over a
 * WebSocket, from inside workerd.
 *
 * A fault switch for the outbox tests: the database refuses (raises) any write of a session
 * row or audit event whose session id is in `test_refused_sessions`, so a test can make the
 * control plane fail for its own session only, then recover, while other tests go on.
 */
import type { TestProject } from 'vitest/node';
import { startControlPlaneDb } from '../control-plane/control-plane-db.ts';

const FAULT_SWITCH = `
CREATE TABLE test_refused_sessions (id text PRIMARY KEY);
CREATE FUNCTION test_refuse_session_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- audit_events.session_id, sessions.id
  IF EXISTS (SELECT 1 FROM test_refused_sessions
             WHERE id = coalesce(to_jsonb(NEW)->>'session_id', to_jsonb(NEW)->>'id')) THEN
    RAISE EXCEPTION 'control plane refuses writes of this session (test fault)';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER test_refuse_session_rows BEFORE INSERT OR UPDATE ON sessions
  FOR EACH ROW EXECUTE FUNCTION test_refuse_session_writes();
CREATE TRIGGER test_refuse_audit_rows BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION test_refuse_session_writes();
`;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cp = await startControlPlaneDb();
  await cp.sql(FAULT_SWITCH);
  project.provide('controlPlane', { DATABASE_URL: cp.DATABASE_URL, NEON_WS_PROXY: cp.NEON_WS_PROXY });
  return () => cp.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: { DATABASE_URL: string; NEON_WS_PROXY: string };
  }
}
