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

/** JSON with object keys sorted at every level: one text per value, whatever built it. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function eventHash(
  prevHash: string,
  e: Pick<AuditEvent, 'session' | 'seq' | 'at' | 'kind' | 'data'>,
): string {
  const body = canonicalJson({ session: e.session, seq: e.seq, at: e.at, kind: e.kind, data: e.data });
  return toHex(sha256(enc.encode(`${prevHash}\n${body}`)));
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
