/**
 * The gateway's login to the target (RFC 4252): key exchange with the target's host key checked
 * against the pin (or learned on first use, waited for), then userauth as the login policy
 * allowed, with the injected private key or password. Nothing of the credential is sent before
 * the host key was accepted.
 */
import {
  SshAuthenticationType,
  SshClientSession,
  type KeyPair,
  type SshChannelOpeningEventArgs,
  type SshSessionClosedEventArgs,
} from '@microsoft/dev-tunnels-ssh';
import { sessionConfiguration } from './algorithms.ts';
import { connect } from './connect.ts';
import type { HostStream } from './host-stream.ts';
import { fingerprint, parseKeyLine, sameBlob } from '../public-key-line.ts';
import { importPrivateKey, publicKeyLine } from './keys.ts';
import type { EngineState } from './engine-state.ts';
import type { SshHooks, SshSessionConfig, TargetCredential } from './types.ts';

export interface TargetLoginSide {
  readonly config: SshSessionConfig;
  readonly hooks: SshHooks;
  readonly stream: HostStream;
  /** The login policy allowed; '' when the session ended first. */
  readonly loginChosen: Promise<string>;
  readonly state: EngineState;
  /** The target accepted the credential (true) or will not (false). */
  ready(ok: boolean): void;
  crash(err: unknown): null;
  /** A channel the target opens or confirms (channel-opening.ts). */
  channelOpening(e: SshChannelOpeningEventArgs): void;
  closed(e: SshSessionClosedEventArgs): void;
}

/** Connects and logs in to the target; the session is returned at once, before the login. */
export function startTarget(
  side: TargetLoginSide,
  credential: TargetCredential,
): { target: SshClientSession; done: Promise<void> } {
  const target = new SshClientSession(sessionConfiguration('client'));
  // Read in login(), before the key exchange: a pin that is not a key fails the target's start.
  const pin: { blob?: Uint8Array } = {};
  target.onAuthenticating((e) => {
    if (e.authenticationType !== SshAuthenticationType.serverPublicKey) return;
    e.authenticationPromise = checkHostKey(side, e.publicKey, pin.blob).catch((err) => side.crash(err));
  });
  target.onChannelOpening((e) => side.channelOpening(e));
  target.onRequest((e) => {
    e.isAuthorized = false;
  });
  target.onClosed((e) => side.closed(e));
  return { target, done: login(side, target, credential, pin) };
}

async function login(
  side: TargetLoginSide,
  target: SshClientSession,
  credential: TargetCredential,
  pin: { blob?: Uint8Array },
) {
  // Pins are checked when stored (parseKeyLine); read the same way here.
  if (side.config.targetHostKey) pin.blob = parseKeyLine(side.config.targetHostKey).blob;
  const key = 'privateKey' in credential ? await importPrivateKey(credential.privateKey) : undefined;
  await connect(target, side.stream);
  if (!(await target.authenticateServer())) {
    side.ready(false);
    return;
  }
  const login = await side.loginChosen;
  // The session may have ended while waiting (the login was refused, the client left).
  if (side.state.ended || !login) return;
  const ok = await target.authenticateClient(
    key
      ? { username: login, publicKeys: [key] }
      : { username: login, password: (credential as { password: string }).password },
  );
  if (!ok) {
    side.state.pendingEnd = {
      kind: 'target_auth',
      detail: `the target refused the injected credential for ${login}`,
    };
    side.hooks.audit('ssh.target_auth', { login, outcome: 'refused' });
  }
  side.ready(ok);
}

/** The target's host key: the pinned one byte for byte, or learned with the control plane. */
async function checkHostKey(
  side: TargetLoginSide,
  key: KeyPair | null,
  pinned: Uint8Array | undefined,
): Promise<object | null> {
  if (!key) return null;
  const line = await publicKeyLine(key);
  const blob = new Uint8Array((await key.getPublicKeyBytes())!);
  if (!pinned) {
    side.hooks.audit('ssh.host_key_learned', { key: line });
    // Waited for: a key the control plane refuses is refused before the credential is sent.
    if ((await side.hooks.hostKeyLearned?.(line)) !== false) return {};
    side.state.pendingEnd = {
      kind: 'host_key_changed',
      detail: `the target's host key changed: it offered ${await fingerprint(blob)}, the connection holds another`,
    };
    side.ready(false);
    return null;
  }
  if (sameBlob(blob, pinned)) return {};
  const [was, now] = await Promise.all([fingerprint(pinned), fingerprint(blob)]);
  side.state.pendingEnd = {
    kind: 'host_key_changed',
    detail: `the target's host key changed: pinned ${was}, offered ${now}`,
  };
  side.hooks.audit('ssh.host_key_mismatch', { pinned: was, offered: line });
  side.ready(false);
  return null;
}
