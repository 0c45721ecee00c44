/**
 * The console cookies' names and attributes: `__Host-` off loopback, so a sibling subdomain's
 * cookie (cookie tossing) is not read; plain names only on plain-http loopback (`postern dev`).
 */
import { describe, expect, it } from 'vitest';
import { cookie, readCookie, SESSION_COOKIE, SIGNIN_COOKIE } from './cookies.ts';

const HTTPS = new URL('https://edge.example.com/auth/callback');
const LOOPBACK = new URL('http://127.0.0.1:8787/auth/callback');

describe('console cookies', () => {
  it('off loopback: __Host- names, Secure, Path=/, no Domain, HttpOnly, SameSite=Lax', () => {
    for (const name of [SESSION_COOKIE, SIGNIN_COOKIE]) {
      const set = cookie(HTTPS, name, 'v', 600);
      expect(set).toMatch(
        new RegExp(`^__Host-${name}=v; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax$`),
      );
      expect(set).not.toMatch(/Domain=/i);
    }
  });

  it('on plain-http loopback: plain names, not Secure (a browser would drop a __Host- cookie there)', () => {
    expect(cookie(LOOPBACK, SESSION_COOKIE, 'v', 600)).toBe(
      'postern_session=v; Max-Age=600; Path=/; HttpOnly; SameSite=Lax',
    );
  });

  it('off loopback, an unprefixed cookie (one a sibling subdomain could set) is not read', () => {
    const req = (cookies: string) =>
      new Request('https://edge.example.com/api/v1/approvals', { headers: { Cookie: cookies } });
    expect(readCookie(req('postern_session=tossed'), SESSION_COOKIE)).toBeUndefined();
    expect(readCookie(req('postern_signin=tossed'), SIGNIN_COOKIE)).toBeUndefined();
    expect(readCookie(req('postern_session=tossed; __Host-postern_session=ours'), SESSION_COOKIE)).toBe(
      'ours',
    );
    const local = new Request('http://127.0.0.1:8787/x', { headers: { Cookie: 'postern_session=ours' } });
    expect(readCookie(local, SESSION_COOKIE)).toBe('ours');
  });
});
