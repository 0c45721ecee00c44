/**
 * Web-console sign-outs (docs/console.md "Sign-out"): the cookie is a stateless JWE, so a
 * signed-out session is remembered here until its cookie would have expired. One session is
 * kept by the SHA-256 of its random id (`sid`: what the database holds opens nothing, and the
 * CSRF token is an HMAC of the id with a key only the Worker has); "everywhere" by the person and
 * the moment. Each write prunes the rows whose cookies have all expired, so the tables hold at
 * most one session lifetime's sign-outs.
 */
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { sha256Hex } from '../../core/crypto/secrets.ts';
import type { Db } from './client.ts';
import { consolePersonSignOuts, consoleSignOuts } from './schema.ts';

/** What a sign-out check needs of a console session (core/web-session/seal.ts BrowserSession). */
export interface SignOutKey {
  sid: string;
  issuer: string;
  subject: string;
  /** Epoch seconds, as in the cookie. */
  issuedAt: number;
  expiresAt: number;
}

/** The stored form of a session id: never the id itself. */
export function sidHash(sid: string): Promise<string> {
  return sha256Hex(`postern-console-sid:${sid}`);
}

/** Signs one session out until its cookie expires (again is no change), and prunes. */
export async function recordSignOut(db: Db, s: SignOutKey, now: Date): Promise<void> {
  await db
    .insert(consoleSignOuts)
    .values({ sidHash: await sidHash(s.sid), expiresAt: new Date(s.expiresAt * 1000) })
    .onConflictDoNothing();
  await prune(db, now);
}

/**
 * Signs out every session of the person issued up to `now` (seconds: a cookie issued in the same
 * second as this is refused too, which fails closed), until `until` (the latest expiry any such
 * cookie can have: the console session's lifetime from now).
 */
export async function recordSignOutEverywhere(
  db: Db,
  who: { issuer: string; subject: string },
  now: Date,
  until: Date,
): Promise<void> {
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
  await db
    .insert(consolePersonSignOuts)
    .values({ issuer: who.issuer, subject: who.subject, signedOutAt: at, expiresAt: until })
    .onConflictDoUpdate({
      target: [consolePersonSignOuts.issuer, consolePersonSignOuts.subject],
      set: { signedOutAt: at, expiresAt: until },
    });
  await prune(db, now);
}

/**
 * True when this session was signed out, alone or with all of its person's: one round trip, a
 * primary-key lookup in each table.
 */
export async function isSignedOut(db: Db, s: SignOutKey): Promise<boolean> {
  const hit = sql<number>`1`;
  const rows = await db
    .select({ hit })
    .from(consoleSignOuts)
    .where(eq(consoleSignOuts.sidHash, await sidHash(s.sid)))
    .unionAll(
      db
        .select({ hit })
        .from(consolePersonSignOuts)
        .where(
          and(
            eq(consolePersonSignOuts.issuer, s.issuer),
            eq(consolePersonSignOuts.subject, s.subject),
            gte(consolePersonSignOuts.signedOutAt, new Date(s.issuedAt * 1000)),
          ),
        ),
    );
  return rows.length > 0;
}

async function prune(db: Db, now: Date): Promise<void> {
  await db.delete(consoleSignOuts).where(lt(consoleSignOuts.expiresAt, now));
  await db.delete(consolePersonSignOuts).where(lt(consolePersonSignOuts.expiresAt, now));
}
