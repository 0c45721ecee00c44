import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.ts';
import { openFlow, openSession, sealFlow, sealSession, type BrowserSession } from './seal.ts';
import { csrfTokenFor, csrfTokenValid } from './csrf.ts';
import { deriveWebSessionKeys } from './keys.ts';
import { s256Challenge } from './pkce.ts';
import { parseIssuerConfigs } from '../identity/issuer-config.ts';

const KEY_A = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(1)))}`;
const KEY_B = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(2)))}`;
const NOW = new Date('2026-12-04T03:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);

const session = (over: Partial<BrowserSession> = {}): BrowserSession => ({
  issuer: 'https://idp.example',
  subject: 'alice',
  groups: ['dba'],
  attributes: {},
  email: 'alice@example.com',
  sid: 'sid-1',
  issuedAt: nowS,
  expiresAt: nowS + 3600,
  ...over,
});

describe('return_to after sign-in', () => {
  it('keeps a path on this origin, with its query and fragment', () => {
    expect(safeReturnTo('/#/approvals')).toBe('/#/approvals');
    expect(safeReturnTo('/?a=1#/sessions/x')).toBe('/?a=1#/sessions/x');
    expect(safeReturnTo('/a/../b')).toBe('/b');
  });

  it('turns anything that could leave the origin into /', () => {
    for (const bad of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil.example',
      'evil.example',
      '',
      null,
      undefined,
      '/' + 'a'.repeat(3000),
    ])
      expect(safeReturnTo(bad as string), String(bad)).toBe('/');
  });

  it('does not let dot segments resolve into a scheme-relative //host', () => {
    for (const bad of [
      '/.//evil.example',
      '/..//evil.example',
      '/%2e//evil.example',
      '/%2E%2E//evil.example/#/approvals',
      '/a/..//evil.example',
      '/a/b/../..//evil.example',
    ])
      expect(safeReturnTo(bad), bad).toBe('/');
    // What stays a path on this origin is kept.
    expect(safeReturnTo('/%2F%2Fevil.example')).toBe('/%2F%2Fevil.example');
    expect(safeReturnTo('/?next=//evil.example')).toBe('/?next=//evil.example');
  });
});

describe('sealed cookies', () => {
  it('a session opens with the key that sealed it, and only before it expires', async () => {
    const { seal } = await deriveWebSessionKeys(undefined, KEY_A);
    const v = await sealSession(seal, session());
    expect(await openSession(seal, v, NOW)).toEqual(session());
    expect(await openSession(seal, v, new Date((nowS + 3601) * 1000))).toBeNull();
  });

  it('another deployment’s key, a changed byte or the sign-in cookie open as nothing', async () => {
    const a = await deriveWebSessionKeys(undefined, KEY_A);
    const b = await deriveWebSessionKeys(undefined, KEY_B);
    const v = await sealSession(a.seal, session());
    expect(await openSession(b.seal, v, NOW)).toBeNull();
    const i = v.length - 5;
    const flipped = v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
    expect(await openSession(a.seal, flipped, NOW)).toBeNull();
    const flow = await sealFlow(
      a.seal,
      {
        state: 's',
        nonce: 'n',
        verifier: 'v',
        issuer: 'https://idp.example',
        returnTo: '/',
        expiresAt: nowS + 600,
      },
      NOW,
    );
    expect(await openSession(a.seal, flow, NOW)).toBeNull();
    expect(await openFlow(a.seal, v, NOW)).toBeNull();
    expect((await openFlow(a.seal, flow, NOW))?.state).toBe('s');
    expect(await openSession(a.seal, 'x'.repeat(5000), NOW)).toBeNull();
  });

  it('the console key and the credential key give different keys', async () => {
    const withConsoleKey = await deriveWebSessionKeys(KEY_B.slice(3), KEY_A);
    const fromCredentials = await deriveWebSessionKeys(undefined, KEY_A);
    const v = await sealSession(withConsoleKey.seal, session());
    expect(await openSession(fromCredentials.seal, v, NOW)).toBeNull();
    await expect(deriveWebSessionKeys('c2hvcnQ=', KEY_A)).rejects.toThrow(/32 bytes/);
  });
});

describe('CSRF tokens', () => {
  it('are bound to the session id and the key', async () => {
    const a = await deriveWebSessionKeys(undefined, KEY_A);
    const b = await deriveWebSessionKeys(undefined, KEY_B);
    const t = await csrfTokenFor(a.csrf, 'sid-1');
    expect(await csrfTokenValid(a.csrf, 'sid-1', t)).toBe(true);
    expect(await csrfTokenValid(a.csrf, 'sid-2', t)).toBe(false);
    expect(await csrfTokenValid(b.csrf, 'sid-1', t)).toBe(false);
    expect(await csrfTokenValid(a.csrf, 'sid-1', null)).toBe(false);
    expect(await csrfTokenValid(a.csrf, 'sid-1', '')).toBe(false);
  });
});

describe('PKCE', () => {
  it('S256 of the RFC 7636 appendix B verifier', async () => {
    expect(await s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
});

describe('console clients in TRUSTED_ISSUERS', () => {
  it('reads console.clientId with default scopes, and refuses a malformed one', () => {
    const [c] = parseIssuerConfigs(
      JSON.stringify([
        { issuer: 'https://idp.example', audience: 'urn:postern', console: { clientId: 'pc' } },
      ]),
      { allowInsecure: false },
    );
    expect(c!.console).toEqual({ clientId: 'pc', scopes: 'openid email profile groups' });
    for (const console of [{}, { clientId: '' }, { clientId: 'pc', scopes: 'email' }, null])
      expect(() =>
        parseIssuerConfigs(JSON.stringify([{ issuer: 'https://idp.example', audience: 'a', console }]), {
          allowInsecure: false,
        }),
      ).toThrow(/console/);
  });
});
