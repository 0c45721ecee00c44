/**
 * Who is calling: a bearer token (the Authorization header, or the WebSocket subprotocol
 * `base64url.bearer.authorization.k8s.io.<token>` that kube-apiserver accepts where a browser
 * cannot set headers), else a TLS client certificate from the stand-in's CA (CN is the user, O
 * the groups: kube-apiserver's x509 authenticator); then `Impersonate-User`/`Impersonate-Group`
 * from a user allowed to impersonate. Failures are 401 Unauthorized, saying nothing of why.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { badRequest, KubeError, unauthorized } from './status.ts';

/** Who made a request, after authentication and impersonation. */
export interface Identity {
  user: string;
  groups: string[];
}

/** The token's user. */
export const ADMIN = 'stand-in-admin';
const ADMIN_GROUPS = ['system:masters', 'system:authenticated'];
const TOKEN_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';

function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

export function authenticator(o: { token: string; tls: boolean; impersonators: ReadonlySet<string> }) {
  const { token, impersonators } = o;
  const certs = o.tls;
  return (req: IncomingMessage): Identity => {
    let id: Identity | undefined;
    const auth = req.headers.authorization;
    const protoToken = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .find((p) => p.startsWith(TOKEN_PROTOCOL));
    const bearer = auth?.startsWith('Bearer ')
      ? auth.slice(7).trim()
      : protoToken
        ? Buffer.from(protoToken.slice(TOKEN_PROTOCOL.length), 'base64url').toString()
        : undefined;
    if (bearer !== undefined) {
      if (!sameSecret(bearer, token)) throw unauthorized();
      id = { user: ADMIN, groups: ADMIN_GROUPS };
    } else if (auth) throw unauthorized();
    else {
      const tls = req.socket as TLSSocket;
      if (certs && tls.authorized) {
        const subject = tls.getPeerCertificate().subject;
        const org = subject.O;
        id = {
          user: String(subject.CN),
          groups: [...(Array.isArray(org) ? org : org ? [org] : []), 'system:authenticated'],
        };
      }
    }
    if (!id) throw unauthorized();
    const asUser = req.headers['impersonate-user'];
    const rawGroups = req.headersDistinct['impersonate-group'] ?? [];
    if (asUser === undefined) {
      if (rawGroups.length)
        throw badRequest('requested impersonation of groups without impersonating a user');
      return id;
    }
    if (!impersonators.has(id.user))
      throw new KubeError(
        403,
        'Forbidden',
        `users "${asUser}" is forbidden: User "${id.user}" cannot impersonate resource "users" in API group "" at the cluster scope`,
        { name: String(asUser), kind: 'users' },
      );
    return { user: String(asUser), groups: [...rawGroups, 'system:authenticated'] };
  };
}
