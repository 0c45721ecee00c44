/**
 * The Kubernetes module alone, as its tests drive it (kube-module*.test.ts): requests handed to
 * it as the host hands them, its data channel answered by a real MuxSide acceptor standing for
 * the connector (what reached "the API server" is what that acceptor saw). Cedar's WASM must be
 * loaded first (nodeCedar in a beforeAll).
 */
import { CompiledPolicies } from '../policy/engine.ts';
import { policySubject } from '../policy/principal.ts';
import type { CloseReason } from '../session-host/close-reason.ts';
import type { HeldRequest } from '../session-host/held-request.ts';
import type { ProtocolServices, ProtocolSession } from '../session-host/protocol.ts';
import type { ExchangeReply, ExchangeRequest } from '../session-host/request-exchange.ts';
import type { RequestHead } from '../tunnel/http-mux/heads.ts';
import { FrameDecoder, type Frame } from '../tunnel/http-mux/frames.ts';
import { MuxSide } from '../tunnel/http-mux/mux-side.ts';
import { kubeModule, type KubeConnection } from './kube-module.ts';
import { alice, ALICE_EMAIL } from '../../test/support/identities.ts';

export const POLICY = `
permit(principal in Postern::Group::"dev", action in [Postern::Action::"connect",
  Postern::Action::"k8s:get", Postern::Action::"k8s:list", Postern::Action::"k8s:watch"], resource);
@approval("sre")
permit(principal in Postern::Group::"dev", action == Postern::Action::"k8s:delete", resource);
`;

const identity = alice({ attributes: ALICE_EMAIL });

const conn: KubeConnection = {
  id: 'c1',
  name: 'kube',
  masking: { columns: [], detectors: { email: 'redact' } },
  kubernetes: { ca: null, impersonate: true, secretKind: 'bearer_token' },
};

const enc = new TextEncoder();
const dec = new TextDecoder();
export const SECRET = {
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name: 'db' },
  data: { pw: btoa('hunter2') },
};

let n = 0;
export interface World {
  session: ProtocolSession;
  audit: Array<{ kind: string; data: Record<string, unknown> }>;
  upstream: Array<{ id: number; head: RequestHead; body: string }>;
  api: MuxSide;
  held: HeldRequest[];
  ended: CloseReason[];
  auditFails: { now: boolean };
  /** Every frame the module sent the connector. */
  toTarget: Frame[];
}

export async function world(policy = POLICY): Promise<World> {
  const policies = CompiledPolicies.compile(`kmod${++n}`, [{ id: 'connection/kube/rules', text: policy }]);
  const w = {
    audit: [],
    upstream: [],
    held: [],
    ended: [],
    auditFails: { now: false },
    toTarget: [],
  } as unknown as World;
  const sent = new FrameDecoder();
  const services = {
    policies,
    subject: policySubject(identity, 'kube'),
    audit: (kind: string, data: Record<string, unknown>) => {
      if (w.auditFails.now) throw new Error('disk full');
      return w.audit.push({ kind, data });
    },
    auditResult: () => undefined,
    grants: () => [],
    coveredBySession: () => false,
    maskingSecret: 'k',
    now: () => 0,
  } as unknown as ProtocolServices;
  const prepared = await kubeModule().prepare({ sessionId: 's', connection: conn, identity }, services);
  const bodies = new Map<number, string>();
  // The connector's end of the channel, and what reached the API server through it.
  w.api = new MuxSide('acceptor', {
    send: (bytes) => w.session.targetData(bytes),
    onOpen: (id, head) => {
      bodies.set(id, '');
      w.upstream.push({ id, head, body: '' });
    },
    onData: (id, bytes, cost) => {
      w.upstream.find((u) => u.id === id)!.body += dec.decode(bytes);
      w.api.consumed(id, cost);
    },
    onMessage: () => undefined,
    onEnd: () => undefined,
    onClosed: () => undefined,
    onChannelError: (m) => {
      throw new Error(m);
    },
  });
  w.session = prepared.open(
    {
      toClient: () => undefined,
      toTarget: (bytes) => {
        w.toTarget.push(...sent.push(bytes));
        queueMicrotask(() => w.api.receive(bytes));
      },
      end: (r) => w.ended.push(r),
      held: (h) => w.held.push(h),
    },
    { processId: 1, secretKey: 1 },
  );
  w.session.targetOpen({ kind: 'bearer_token', secret: 'conn-token' });
  return w;
}

export interface Client {
  status?: number;
  headers?: Array<[string, string]>;
  body: string;
  messages: Uint8Array[];
  ended: boolean;
  aborted?: string;
}

export function send(w: World, method: string, target: string, opts: Partial<ExchangeRequest> = {}): Client {
  const [path, query = ''] = target.split('?') as [string, string?];
  const c: Client = { body: '', messages: [], ended: false };
  const reply: ExchangeReply = {
    head: (status, headers) => Object.assign(c, { status, headers }),
    data: (bytes, done) => {
      c.body += dec.decode(bytes);
      done();
    },
    message: (_b, p, done) => {
      c.messages.push(p);
      done();
    },
    end: () => (c.ended = true),
    abort: (why) => (c.aborted = why),
  };
  w.session.requests!.open(
    {
      method,
      path,
      query,
      headers: [
        ['authorization', 'Bearer client-oidc-token'],
        ['impersonate-user', 'root'],
        ['accept', 'application/vnd.kubernetes.protobuf, */*'],
      ],
      body: new Uint8Array(0),
      ...opts,
    },
    reply,
  );
  return c;
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

export function answer(w: World, id: number, status: number, body: string, type = 'application/json') {
  w.api.head(id, { status, headers: [['content-type', type]] });
  w.api.write(id, enc.encode(body));
  w.api.end(id);
}
