/**
 * The RPC surfaces of the Durable Objects, as the Worker and the other objects call them. The
 * bindings' types (edge/env.ts) name these interfaces, not the classes, so nothing in `edge/` or
 * `workers/` needs the objects' code to type a call, and `durable-objects/` never imports
 * `workers/`: the layers stay one-way (eslint.config.js enforces it).
 */
import type { CancelKey } from '../../core/pg/types.ts';
import type { DeliveryStatus, WebhookDelivery } from '../../core/notify/delivery.ts';
import type { ShippedEvent } from '../db/audit-repo.ts';
import type { SessionRecord } from '../db/session-records.ts';
import type { DialInput, DialResult, ReplicaInfo } from './dial.ts';
import type { SessionStart } from './session-start.ts';
import type { VoteAnswer, VoteRequest } from './votes.ts';

/** Where a request-oriented session object stands (`fresh`: never begun; `ended`: over, or evicted). */
export type ExchangeState = 'fresh' | 'running' | 'ended';

/**
 * A request-oriented session's object answers a request it cannot serve with this header and
 * its state (`fresh` or `ended`) and no body, so the Worker needs ONE call per request in the
 * usual case (a running session) and begins or moves on only when told. The object strips the
 * field from every response it relays (exchange-host.ts), so an API server cannot fake it.
 */
export const EXCHANGE_STATE_HEADER = 'x-postern-exchange-state';

export interface SessionRpc extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
  /** The session's parameters, handed over before the client's upgrade is forwarded. */
  begin(start: SessionStart): Promise<boolean>;
  /** The answer of the dial the Worker made for this session (`start.dialing`). */
  dialed(result: DialResult): Promise<void>;
  /**
   * A request-oriented session (Kubernetes): begins it in a fresh object, once `fetch` said the
   * object is fresh (EXCHANGE_STATE_HEADER; durable-objects/session/session-do.ts `exchangeBegin`).
   */
  exchangeBegin(start: SessionStart): Promise<ExchangeState>;
  approvalVote(req: VoteRequest): Promise<VoteAnswer>;
  grantRevoked(grantId: string): Promise<boolean>;
  cancelQuery(): Promise<boolean>;
  /** Audit events of this session the shipments queue gave up on: kept and sent again. */
  reclaimAudit(events: ShippedEvent[]): Promise<void>;
}

export interface ConnectorRpc extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
  dial(input: DialInput): Promise<DialResult>;
  cancel(key: CancelKey): Promise<boolean>;
  sessionEnded(processId: number, record?: SessionRecord): Promise<void>;
  /** A live session's renewed lease and counters so far. */
  sessionProgress(record: SessionRecord): Promise<void>;
  listReplicas(): Promise<ReplicaInfo[]>;
  disconnectAll(): Promise<void>;
  /** Session records the shipments queue gave up on: kept and sent again. */
  reclaimRecords(records: SessionRecord[]): Promise<void>;
}

export interface NotifyRpc extends Rpc.DurableObjectBranded {
  enqueue(delivery: WebhookDelivery): Promise<boolean>;
  status(): Promise<DeliveryStatus | null>;
}
