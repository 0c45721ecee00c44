/**
 * The Cedar documents that decide one connection: the global documents, the connection's own,
 * and its allow-list as a policy, keyed by a hash of them all (equal key, same decisions). One
 * rule for every place that decides a connection: session setup (workers/routes/connection-cache.ts)
 * and the caller's connection list (workers/api/me.ts).
 */
import { allowListPolicy } from '../../core/policy/principal.ts';
import type { PolicyDoc } from '../../core/policy/engine.ts';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import { GLOBAL_SCOPE, type PolicyRow } from '../db/policies-repo.ts';
import type { PolicySetSpec } from './runtime.ts';

export interface PolicyTarget {
  id: string;
  name: string;
  allowSubjects: string[] | null;
  allowGroups: string[] | null;
}

/** `rows`: global documents first, then the connection's (policiesForConnection's order). */
export async function policySetOf(conn: PolicyTarget, rows: PolicyRow[]): Promise<PolicySetSpec> {
  const docs: PolicyDoc[] = rows
    .filter((p) => p.scope === GLOBAL_SCOPE || p.scope === conn.id)
    .map((p) => ({
      id: p.scope === GLOBAL_SCOPE ? `global/${p.name}` : `connection/${conn.name}/${p.name}`,
      text: p.text,
    }));
  const allow = allowListPolicy({ subjects: conn.allowSubjects ?? [], groups: conn.allowGroups ?? [] });
  if (allow) docs.push({ id: `connection/${conn.name}/allow-list`, text: allow });
  return { key: await sha256Hex(JSON.stringify(docs)), docs };
}
