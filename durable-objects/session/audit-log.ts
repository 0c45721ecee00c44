/**
 * The session's audit log, kept in its own storage until the control plane has it. An event is
 * hash-chained and written synchronously to the DO's outbox (durable-objects/outbox.ts) BEFORE
 * the statement it describes is forwarded; if the write fails the statement is refused. The
 * outbox sends the events from DO alarms in batches to the Cloudflare Queue (../queue-shipper.ts),
 * retries with backoff while the queue refuses them, and deletes only what the queue has accepted;
 * the queue's consumer retries while the database is away, so an outage delays delivery and loses
 * nothing; the insert is idempotent on (session, seq).
 */
import { chainEvent, GENESIS, type AuditEvent, type AuditKind } from '../../core/audit/chain.ts';
import { isRefusal } from '../../core/audit/refusals.ts';
import { CarriedResults, type AuditResult } from '../../core/audit/carried-results.ts';
import { AUDIT_BATCH_DELAY_MS } from '../../core/outbox/schedule.ts';
import type { ShippedEvent } from '../../edge/db/audit-repo.ts';
import type { Env } from '../../edge/env.ts';
import { Outbox } from '../outbox.ts';
import { adoptLegacyAudit } from '../outbox-legacy.ts';
import { queueShipper } from '../queue-shipper.ts';

interface Meta {
  session: string;
  connectionName: string;
  subject: string;
}

/** The chain's end: the next event is `seq + 1`, chained onto `head`. */
export interface ChainPoint {
  seq: number;
  head: string;
  refusals: number;
}

export class AuditLog {
  #seq = 0;
  #head = GENESIS;
  #refusals = 0;
  #meta: Meta | undefined;
  readonly #outbox: Outbox<ShippedEvent>;
  /** Results of audited requests, carried on the next event written anyway (carried-results.ts). */
  readonly #carried = new CarriedResults();

  constructor(ctx: DurableObjectState, env: Env) {
    this.#outbox = new Outbox<ShippedEvent>(ctx.storage, {
      queue: 'audit',
      what: 'audit events',
      batchDelayMs: AUDIT_BATCH_DELAY_MS,
      ship: queueShipper(ctx, env, 'audit'),
      logFields: () => ({ session: this.#meta?.session }),
    });
    adoptLegacyAudit(ctx.storage, this.#outbox);
  }

  get head(): string {
    return this.#head;
  }
  get count(): number {
    return this.#seq;
  }
  /** Events so far that record a refused request (core/audit/refusals.ts). */
  get refusals(): number {
    return this.#refusals;
  }

  begin(meta: Meta): void {
    this.#meta = meta;
  }

  /** Where the chain stands, for a hibernated session's record (session-hibernation.ts). */
  point(): ChainPoint {
    return { seq: this.#seq, head: this.#head, refusals: this.#refusals };
  }

  /**
   * A woken object goes on with the chain at `point` (what its predecessor stored when it
   * hibernated), checked against the rows still waiting in SQLite: an unshipped event past
   * `point`, or one at it with another hash, means the stored point is stale. False then: the
   * chain would fork, so the caller ends the session instead (fail closed).
   */
  resume(meta: Meta, point: ChainPoint): boolean {
    const last = this.#outbox.lastNumbered();
    if (last && last.key > point.seq) return false;
    if (last && last.key === point.seq) {
      let hash: unknown;
      try {
        hash = (JSON.parse(last.item) as { hash?: unknown }).hash;
      } catch {
        return false;
      }
      if (hash !== point.head) return false;
    }
    this.#meta = meta;
    this.#seq = point.seq;
    this.#head = point.head;
    this.#refusals = point.refusals;
    return true;
  }

  /** Appends one event; throws if storage refuses it (the caller fails closed). */
  append(kind: AuditKind, data: Record<string, unknown>, outcome: string | null = null): AuditEvent {
    const meta = this.#meta;
    if (!meta) throw new Error('audit log not started');
    const e = {
      session: meta.session,
      seq: this.#seq + 1,
      at: new Date().toISOString(),
      kind,
      data: this.#carried.carriedOn(data),
    };
    // The data is serialized once, for the hash and the stored row alike (chainEvent).
    const { hash, row } = chainEvent(this.#head, e, {
      connectionName: meta.connectionName,
      subject: meta.subject,
      outcome,
    });
    const event = { ...e, prevHash: this.#head, hash };
    this.#outbox.putJson(String(e.seq), row);
    this.#seq = e.seq;
    this.#head = hash;
    if (isRefusal(kind, outcome)) this.#refusals++;
    this.#carried.stored();
    return event;
  }

  /**
   * What an audited request came to (ProtocolServices.auditResult): carried on the next event,
   * so it adds no storage commit of its own while statements flow. The alarm writes what nothing
   * carried (`writeCarried`); when many wait, they are written now. Never throws.
   */
  carry(result: AuditResult): void {
    if (!this.#meta) return;
    const first = this.#carried.add(result);
    if (this.#carried.full) this.writeCarried();
    else if (first) this.#outbox.wakeBy(Date.now() + AUDIT_BATCH_DELAY_MS);
  }

  /** Writes waiting results in a `results` event of their own (the alarm; when many wait). */
  writeCarried(): void {
    if (this.#carried.size === 0 || !this.#meta) return;
    try {
      this.append('results', {});
    } catch (e) {
      // Only results are lost (the requests were audited before they were forwarded); drop
      // them rather than hold them without bound.
      console.error(JSON.stringify({ msg: 'audit results not written', error: (e as Error).message }));
      this.#carried.stored();
    }
  }

  /**
   * Events of this session that the shipments queue dead-lettered (workers/queue/dead-letters.ts):
   * stored again under their sequence number and sent again with backoff. Events of another
   * session are refused.
   */
  reclaim(session: string, events: ShippedEvent[]): void {
    if (events.some((e) => e.session !== session)) throw new Error('events of another session');
    for (const e of events) this.#outbox.put(String(e.seq), e);
  }

  /** Ships the rest now (session end). */
  flushSoon(): void {
    this.#outbox.soon();
  }

  /** Alarm handler: one batch to the control plane; reschedules while events remain. */
  ship(): Promise<void> {
    return this.#outbox.flush();
  }
}
