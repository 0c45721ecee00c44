/**
 * A real control-plane database for the workers pool (globalSetup, in Node): the fresh cluster,
 * migrations and Neon WebSocket relay of test/control-plane, handed to the pool's bindings
 * (DATABASE_URL, NEON_WS_PROXY; vitest.config.ts) with vitest's provide/inject. The Worker and
 * the Durable Objects reach it as in production, through @neondatabase/serverless over a
 * WebSocket, from inside workerd.
 */
import type { TestProject } from 'vitest/node';
import { startControlPlaneDb } from '../control-plane/control-plane-db.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cp = await startControlPlaneDb();
  project.provide('controlPlane', { DATABASE_URL: cp.DATABASE_URL, NEON_WS_PROXY: cp.NEON_WS_PROXY });
  return () => cp.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: { DATABASE_URL: string; NEON_WS_PROXY: string };
  }
}
