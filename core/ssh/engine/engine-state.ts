import type { SshClientSession } from '@microsoft/dev-tunnels-ssh';
import type { SshEnd, SshPhase } from './types.ts';

/** What the parts of one engine session (session.ts) share. */
export interface EngineState {
  phase: SshPhase;
  ended: boolean;
  /** Why the session will end once the client goes (a refused login, a target failure). */
  pendingEnd: SshEnd | undefined;
  /** The session toward the target, once `targetOpen` started it. */
  target: SshClientSession | undefined;
}
