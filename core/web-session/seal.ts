/**
 * The web console's two cookies, sealed as compact JWE (RFC 7516; `dir` + `A256GCM`, jose):
 * encrypted and authenticated with a key only the Worker holds, so a browser can neither read
 * nor alter them, and a cookie made by another deployment (another key) opens as nothing. The
 * JWE `typ` says which cookie it is, so one can never be presented as the other.
 *  - the session (`postern_session`): who signed in, from which issuer, until when;
 *  - the sign-in flow (`postern_signin`): state, nonce and PKCE verifier between /auth/login and
 *    /auth/callback (OIDC Core 3.1.2.1, RFC 7636), kept by the browser that started it.
 * Any failure (malformed, wrong key, wrong typ, expired, wrong shape) is `null`: the caller
 * treats it as no cookie.
 */
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';

/** Browsers keep at least 4096 bytes per cookie (RFC 6265 §6.1); larger is refused, unread. */
export const MAX_COOKIE_CHARS = 4000;

export interface BrowserSession {
  issuer: string;
  subject: string;
  groups: string[];
  attributes: Record<string, string>;
  email?: string;
  name?: string;
  /** Random id: binds the CSRF token (csrf.ts) to this session. */
  sid: string;
  /** Epoch seconds. */
  issuedAt: number;
  expiresAt: number;
}

export interface SignInFlow {
  state: string;
  nonce: string;
  verifier: string;
  issuer: string;
  returnTo: string;
  /** Epoch seconds. */
  expiresAt: number;
}

const SESSION_TYP = 'postern-console-session+jwt';
const FLOW_TYP = 'postern-console-signin+jwt';

async function seal(key: Uint8Array, typ: string, claims: JWTPayload, iat: number, exp: number) {
  return new EncryptJWT(claims)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .encrypt(key);
}

async function open(key: Uint8Array, typ: string, value: string | undefined, now: Date) {
  if (!value || value.length > MAX_COOKIE_CHARS) return null;
  try {
    const { payload } = await jwtDecrypt(value, key, {
      typ,
      currentDate: now,
      clockTolerance: 0,
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      requiredClaims: ['exp', 'iat'],
    });
    return payload;
  } catch {
    return null;
  }
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export function sealSession(key: Uint8Array, s: BrowserSession): Promise<string> {
  return seal(
    key,
    SESSION_TYP,
    {
      idp: s.issuer,
      sub: s.subject,
      grp: s.groups,
      att: s.attributes,
      sid: s.sid,
      ...(s.email ? { em: s.email } : {}),
      ...(s.name ? { nm: s.name } : {}),
    },
    s.issuedAt,
    s.expiresAt,
  );
}

export async function openSession(
  key: Uint8Array,
  value: string | undefined,
  now: Date,
): Promise<BrowserSession | null> {
  const p = await open(key, SESSION_TYP, value, now);
  if (!p) return null;
  const groups = p['grp'];
  const att = p['att'];
  if (!str(p['idp']) || !str(p.sub) || !str(p['sid'])) return null;
  if (!Array.isArray(groups) || !groups.every(str)) return null;
  if (typeof att !== 'object' || att === null || !Object.values(att).every((v) => typeof v === 'string'))
    return null;
  return {
    issuer: p['idp'],
    subject: p.sub,
    groups,
    attributes: att as Record<string, string>,
    sid: p['sid'],
    issuedAt: p.iat!,
    expiresAt: p.exp!,
    ...(str(p['em']) ? { email: p['em'] } : {}),
    ...(str(p['nm']) ? { name: p['nm'] } : {}),
  };
}

export function sealFlow(key: Uint8Array, f: SignInFlow, now: Date): Promise<string> {
  return seal(
    key,
    FLOW_TYP,
    { st: f.state, nn: f.nonce, cv: f.verifier, idp: f.issuer, rt: f.returnTo },
    Math.floor(now.getTime() / 1000),
    f.expiresAt,
  );
}

export async function openFlow(
  key: Uint8Array,
  value: string | undefined,
  now: Date,
): Promise<SignInFlow | null> {
  const p = await open(key, FLOW_TYP, value, now);
  if (!p) return null;
  if (![p['st'], p['nn'], p['cv'], p['idp'], p['rt']].every(str)) return null;
  return {
    state: p['st'] as string,
    nonce: p['nn'] as string,
    verifier: p['cv'] as string,
    issuer: p['idp'] as string,
    returnTo: p['rt'] as string,
    expiresAt: p.exp!,
  };
}
