/**
 * The client's login (RFC 4252 §5.2, userauth "none"): the identity is the token checked at the
 * WebSocket upgrade, so the user name only selects the target login, which policy must permit.
 * The client is told it logged in only once the target accepted the injected credential.
 */
import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import { deferred } from './deferred.ts';
import type { RequestPolicy } from './request-policy.ts';
import type { EngineState } from './engine-state.ts';
import type { SshHooks } from './types.ts';
import { BannerMessage } from './wire.ts';

const MAX_LOGIN = 64;

export interface ClientLoginSide {
  readonly client: SshServerSession;
  readonly hooks: SshHooks;
  readonly policy: RequestPolicy;
  /** Resolves once the target accepted the credential (false: it will not). */
  readonly targetReady: Promise<boolean>;
  readonly state: EngineState;
}

export class ClientLogin {
  /** The login policy allowed (undefined before). */
  login: string | undefined;
  readonly #chosen = deferred<string>();

  constructor(private readonly side: ClientLoginSide) {}

  /** The allowed login; '' when the session ended first. */
  get chosen(): Promise<string> {
    return this.#chosen.promise;
  }

  /** The session is ending: nobody waits for a login any more. */
  cancel(): void {
    this.#chosen.resolve('');
  }

  /** userauth "none" for `login`: an object when the client is in, null when refused. */
  async authenticate(login: string): Promise<object | null> {
    const side = this.side;
    if (this.login !== undefined && login !== this.login) {
      await this.banner('postern: one login per connection');
      return null;
    }
    if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(login) || login.length > MAX_LOGIN) {
      side.hooks.audit('ssh.login', {
        login: login.slice(0, MAX_LOGIN),
        outcome: 'refused',
        reason: 'invalid name',
      });
      await this.banner('postern: that login name is not valid');
      return null;
    }
    if (this.login === undefined) {
      const permit = await side.policy.permit({ action: 'ssh:login', login }, (t) =>
        this.banner(`postern: ${t}`),
      );
      if (!permit.ok) {
        side.state.pendingEnd = { kind: 'policy', detail: `login ${login}: ${permit.message}` };
        await this.banner(`postern: login ${login} refused: ${permit.message}`);
        return null;
      }
      this.login = login;
      this.#chosen.resolve(login);
    }
    if (!(await side.targetReady)) {
      await this.banner(
        `postern: the target refused login ${login} (${side.state.pendingEnd?.detail ?? 'see the audit log'})`,
      );
      return null;
    }
    return { login };
  }

  /** SSH_MSG_USERAUTH_BANNER (RFC 4252 §5.4): OpenSSH prints it on stderr. */
  async banner(text: string): Promise<void> {
    await this.side.client.sendMessage(new BannerMessage(text.endsWith('\n') ? text : text + '\n'));
  }
}
