/**
 * The dev stack's generated secrets (database passwords, the admin token, credential and console
 * keys, client secrets, the demo people's passwords): made once, kept in the state directory's
 * secrets.json and reused by the next start, so a restarted stack keeps its connector, sessions
 * and demo sign-ins; a value a newer version added is generated then.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { DemoRole } from './stack.ts';

export interface Secrets {
  superuserPassword: string;
  controlPlanePassword: string;
  demoPassword: string;
  adminToken: string;
  credentialKeys: string;
  clientSecret: string;
  adminClientSecret: string;
  approverClientSecret: string;
  consoleClientSecret: string;
  consoleSessionKey: string;
  /** role → password of the demo people. */
  people: Record<DemoRole, string>;
  connectorToken?: string;
}

export function loadSecrets(file: string, reuse: boolean): Secrets {
  const r = (n = 24) => randomBytes(n).toString('base64url');
  const fresh: Secrets = {
    superuserPassword: r(),
    controlPlanePassword: r(),
    demoPassword: r(),
    adminToken: `pat_${r(32)}`,
    credentialKeys: `k1:${randomBytes(32).toString('base64')}`,
    clientSecret: r(),
    adminClientSecret: r(),
    approverClientSecret: r(),
    consoleClientSecret: r(),
    consoleSessionKey: randomBytes(32).toString('base64'),
    people: { requester: r(12), approver: r(12), admin: r(12) },
  };
  // Kept secrets win; anything a newer version added is generated.
  if (reuse && existsSync(file))
    return { ...fresh, ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>) };
  return fresh;
}
