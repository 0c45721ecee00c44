/**
 * The SSH half of `postern dev` (issue 11 §4): the demo sshd (sshd.ts) as a target, and the demo
 * SSH connection in front of it, created through the admin API with the demo login key as its
 * injected credential, the sshd's host key pinned, and the demo SSH policy.
 */
import { join } from 'node:path';
import type { AdminClient } from './admin-client.ts';
import { DEMO_SSH_POLICY } from './demo-policy.ts';
import { startDemoSshd, sshdUnavailable, type DemoSshd } from './sshd.ts';

export const DEMO_SSH_CONNECTION = 'demo-ssh';

/** The demo SSH target as `postern dev` reports it. */
export type DemoSsh = { sshd: DemoSshd; connection: string; login: string } | { unavailable: string };

/** Starts the demo sshd in `stateDir/sshd` (on `port`, 2222, or a free one), or says why it cannot run here. */
export async function startDemoSsh(
  stateDir: string,
  port = 2222,
): Promise<{ sshd: DemoSshd } | { unavailable: string }> {
  const why = sshdUnavailable();
  if (why) return { unavailable: why };
  return { sshd: await startDemoSshd({ dir: join(stateDir, 'sshd'), port }) };
}

/**
 * Creates (or points at this run's sshd) the demo SSH connection and its policy. Resolves to
 * null, or to why the edge refused (an edge without SSH connections yet): the rest of the stack
 * works without it.
 */
export async function seedDemoSsh(
  admin: AdminClient,
  sshd: DemoSshd,
  policy = DEMO_SSH_POLICY,
): Promise<string | null> {
  const path = `/connections/${DEMO_SSH_CONNECTION}`;
  const fields = {
    target: { host: '127.0.0.1', port: sshd.port, tls: 'none' },
    credential: { privateKey: sshd.loginKey.privateKeyPem },
    ssh: { targetHostKey: sshd.hostKey },
  };
  try {
    const patched = (await admin.exists(path)) && (await admin.request('PATCH', path, fields)).status < 300;
    if (!patched) {
      await admin.del(path, true);
      await admin.post('/connections', {
        name: DEMO_SSH_CONNECTION,
        protocol: 'ssh',
        connector: 'local',
        ...fields,
        // Access comes from the demo SSH policy, not the allow-list shorthand.
        allow: { subjects: [], groups: [] },
      });
    }
    await admin.put(`${path}/policies/demo`, { text: policy });
    return null;
  } catch (e) {
    // The admin client's message holds the API's answer, never the key (it is not echoed).
    return (e as Error).message;
  }
}
