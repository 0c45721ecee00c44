/**
 * The tamper-evident audit trail: every event of a session carries the hash of the one before,
 * so altering, removing or reordering any event breaks the chain from that point on, and the
 * session's final hash (stored with the session) catches events cut off the end.
 *
 *   hash(n) = SHA-256( hash(n-1) || "\n" || canonical-JSON({session, seq, at, kind, data}) )
 *   hash(0) = 64 zeros
 */
import { sha256, toHex } from '../crypto/hmac-sync.ts';

export const GENESIS = '0'.repeat(64);

export const AUDIT_KINDS = [
  'session_open',
  'statement',
  'session_close',
  'error',
  // Approvals (docs/approvals.md): a held statement's request, each vote, and how it ended.
  'approval_requested',
  'approval_vote',
  'approval_decided',
  // An approved prepared statement is bound for its one run (the Bind that uses the approval).
  'approved_run',
  // A checked statement refused when it would run, by the session's state (a cursor read).
  'run_refused',
  // An access grant the session used expired or was revoked.
  'grant_ended',
  // SSH (docs/ssh.md): the login, each channel request decided, SFTP operations, port
  // forwards, exit statuses, other requests refused, the recording in chained pieces, and the
  // target's host key learned on first use (or refused).
  'ssh_login',
  'ssh_shell',
  'ssh_exec',
  'ssh_pty',
  'ssh_sftp',
  'sftp_op',
  'ssh_port_forward',
  'ssh_request',
  'ssh_exit',
  'ssh_target_auth',
  'recording_chunk',
  'recording_end',
  'target_host_key_learned',
  'target_host_key_mismatch',
  // Kubernetes (docs/kubernetes.md): each API request decided (before it is forwarded, its body
  // in its audit form) and its response (status, bytes, what was masked).
  'kube_request',
  'kube_response',
  // Results of requests audited earlier (rows or SQLSTATE, duration) that no other event carried
  // in its `data.results` (core/audit/carried-results.ts).
  'results',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEvent {
  session: string;
  seq: number;
  /** ISO time. */
  at: string;
  kind: AuditKind;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

const enc = new TextEncoder();

/**
 * JSON with object keys sorted at every level: one text per value, whatever built it. Keys whose
 * value is undefined are left out, as JSON.stringify leaves them out; an undefined array element
 * is `null`. Written straight into one string (no per-level arrays): it runs for every audit
 * event, before the statement the event describes is forwarded.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

type HashedFields = Pick<AuditEvent, 'session' | 'seq' | 'at' | 'kind' | 'data'>;

/** The canonical JSON of an event's hashed fields, given its data's (keys in sorted order). */
function hashedBody(e: HashedFields, data: string): string {
  return `{"at":${JSON.stringify(e.at)},"data":${data},"kind":${JSON.stringify(e.kind)},"seq":${JSON.stringify(e.seq)},"session":${JSON.stringify(e.session)}}`;
}

export function eventHash(prevHash: string, e: HashedFields): string {
  // A field missing (an event read back malformed) is left out, as canonicalJson leaves it out.
  const whole = e.at !== undefined && e.data !== undefined && e.kind !== undefined;
  const body =
    whole && e.seq !== undefined && e.session !== undefined
      ? hashedBody(e, canonicalJson(e.data))
      : canonicalJson({ session: e.session, seq: e.seq, at: e.at, kind: e.kind, data: e.data });
  return toHex(sha256(enc.encode(`${prevHash}\n${body}`)));
}

/**
 * An event chained onto `prevHash`: its hash, and the JSON of the stored row (the event, its
 * link and hash, and `extra`'s fields). The data is serialized once, canonically, for both: the
 * row holds exactly the text that was hashed, and parsing it gives back the data verifyChain
 * checks.
 */
export function chainEvent(
  prevHash: string,
  e: HashedFields,
  extra: Record<string, string | number | null>,
): { hash: string; row: string } {
  const data = canonicalJson(e.data);
  const hash = toHex(sha256(enc.encode(`${prevHash}\n${hashedBody(e, data)}`)));
  let row = `{"session":${JSON.stringify(e.session)},"seq":${JSON.stringify(e.seq)},"at":${JSON.stringify(e.at)},"kind":${JSON.stringify(e.kind)},"data":${data},"prevHash":${JSON.stringify(prevHash)},"hash":"${hash}"`;
  for (const k of Object.keys(extra)) row += `,${JSON.stringify(k)}:${JSON.stringify(extra[k])}`;
  return { hash, row: `${row}}` };
}

export interface ChainProblem {
  seq: number;
  problem: string;
}

export interface ChainReport {
  ok: boolean;
  events: number;
  head: string;
  problems: ChainProblem[];
}

/**
 * Verifies events (in the order given) against the chain rules and, when known, the session's
 * recorded final hash and event count.
 */
export function verifyChain(
  events: AuditEvent[],
  expected?: { head?: string | null; count?: number | null },
): ChainReport {
  const problems: ChainProblem[] = [];
  let prev = GENESIS;
  events.forEach((e, i) => {
    if (e.seq !== i + 1)
      problems.push({ seq: e.seq, problem: `expected event ${i + 1} here (missing or reordered events)` });
    if (e.prevHash !== prev) problems.push({ seq: e.seq, problem: 'does not link to the event before it' });
    if (eventHash(e.prevHash, e) !== e.hash)
      problems.push({ seq: e.seq, problem: 'contents do not match its hash (altered)' });
    prev = e.hash;
  });
  const head = events.at(-1)?.hash ?? GENESIS;
  if (expected?.count != null && expected.count !== events.length) {
    problems.push({
      seq: events.length,
      problem: `the session recorded ${expected.count} events, ${events.length} are present`,
    });
  }
  if (expected?.head != null && expected.head !== head) {
    problems.push({
      seq: events.length,
      problem: 'the last event is not the one the session recorded (events cut off or replaced)',
    });
  }
  return { ok: problems.length === 0, events: events.length, head, problems };
}
