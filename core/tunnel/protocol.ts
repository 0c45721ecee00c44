/**
 * Messages between the edge and a connector (JSON text frames). Binary frames on a data
 * channel are raw TCP bytes of the target connection, in order, nothing else.
 *
 * Control socket (connector -> edge, `GET /v1/connector/connect`, `Authorization: Bearer <connector token>`,
 * header `x-postern-replica: <replica id>`):
 *   edge -> connector: DialRequest
 *   connector -> edge: ReplicaHello once after open, then the literal text "ping" every 10 s
 *                      (answered "pong" by the edge without waking the Durable Object).
 *
 * Data channel (connector -> edge, `GET /v1/channel/<sessionId>`, `Authorization: Bearer <channel token>`):
 *   connector -> edge, first text frame: ChannelHello (after the TCP connection to the target is up)
 *                      or ChannelError (the connector could not or would not dial).
 *   edge -> connector text frame: ChannelCancel (open a separate TCP connection and send a
 *                      Postgres CancelRequest with these keys; the data channel stays as is).
 *   both ways: binary frames = target bytes. Close code 1000 = normal end.
 *   protocol 'kubernetes': binary frames carry the HTTP stream mux instead (core/tunnel/http-mux/,
 *   docs/http-mux.md): many request/response streams over this one channel.
 */
import { PosternError } from '../errors.ts';

/** What a connection's target speaks. */
export const CONNECTION_PROTOCOLS = ['postgres', 'ssh', 'kubernetes'] as const;
export type ConnectionProtocol = (typeof CONNECTION_PROTOCOLS)[number];

/**
 * The transport to the target, opened by the connector. 'none': plain TCP (SSH encrypts
 * itself). 'tls': TLS from the first byte. 'postgres-starttls': Postgres's SSLRequest, then TLS
 * (protocol §55.2.10). With TLS, the CA and the hostname are verified.
 */
export const TARGET_TLS = ['none', 'tls', 'postgres-starttls'] as const;
export type TargetTls = (typeof TARGET_TLS)[number];

/**
 * The transports each protocol can run over: SSHD speaks SSH from its first byte, nothing else;
 * a Kubernetes API server serves HTTPS only (kube-apiserver has no plain-HTTP port since 1.20).
 */
export const TLS_OF_PROTOCOL: Record<ConnectionProtocol, readonly TargetTls[]> = {
  postgres: ['none', 'tls', 'postgres-starttls'],
  ssh: ['none'],
  kubernetes: ['tls'],
};

export interface TargetSpec {
  host: string;
  port: number;
  tls: TargetTls;
}

export interface DialRequest {
  type: 'dial';
  sessionId: string;
  channelToken: string;
  protocol: ConnectionProtocol;
  target: TargetSpec;
  /** Name of a credential the connector resolves locally (e.g. `env:PGPASSWORD_APP`), if any. */
  credentialRef?: string;
  /**
   * The CA (PEM) the target's certificate must chain to, when the connection names one (a
   * cluster's own CA); otherwise the connector's `--ca-file`, else the system roots. Not secret.
   */
  ca?: string;
}

export interface ReplicaHello {
  type: 'hello';
  replicaId: string;
  version: string;
  hostname: string;
}

export interface ChannelHello {
  type: 'channel-hello';
  /** Present when the dial carried a credentialRef: the secret resolved by the connector. */
  credential?: string;
}

export interface ChannelError {
  type: 'channel-error';
  /** 'not-allowed' (target not in the connector's local allowlist), 'unreachable', 'credential-missing'. */
  reason: 'not-allowed' | 'unreachable' | 'credential-missing' | 'tls-failed';
  message: string;
}

export interface ChannelCancel {
  type: 'cancel';
  processId: number;
  secretKey: number;
}

/**
 * Kubernetes, edge -> connector, the one text frame of a kubernetes channel, before any mux
 * frame: the connection's sealed client certificate and key (PEM), opened by the edge, for the
 * connector to present in TLS to the API server. Never logged by either side.
 */
export interface ChannelCredential {
  type: 'channel-credential';
  credential: string;
}

export type EdgeToConnector = DialRequest;
export type ConnectorToEdge = ReplicaHello;
export type ChannelFromConnector = ChannelHello | ChannelError;

/** Largest JSON control message either side accepts; anything larger is hostile. */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024;

/**
 * Largest credential a connector resolves (`env:`/`file:` refs): an SSH private key, not just a
 * password (an OpenSSH RSA 4096 key is about 3.4 KB; 8192-bit, 6.5 KB). Fits a control message.
 */
export const MAX_RESOLVED_CREDENTIAL_CHARS = 8 * 1024;

/** Largest CA bundle a dial carries: a cluster CA is ~1.2 KB; a few intermediates fit. */
export const MAX_DIAL_CA_CHARS = 8 * 1024;

const HOST_RE = /^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]{2,45}\]?$/;

function fail(message: string): never {
  throw new PosternError('PROTOCOL_VIOLATION', message);
}

function parseJson(text: string): Record<string, unknown> {
  if (text.length > MAX_CONTROL_MESSAGE_BYTES) fail('control message too large');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    fail('control message is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('control message is not an object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, max = 512): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    fail(`field ${k} must be a string (1..${max})`);
  return v;
}

export function parseTarget(v: unknown): TargetSpec {
  if (typeof v !== 'object' || v === null) fail('target must be an object');
  const o = v as Record<string, unknown>;
  const host = str(o, 'host', 253);
  if (!HOST_RE.test(host)) fail('target.host is not a hostname or IP');
  const port = o['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    fail('target.port invalid');
  const tls = o['tls'];
  if (!(TARGET_TLS as readonly unknown[]).includes(tls))
    fail(`target.tls must be one of ${TARGET_TLS.join(', ')}`);
  return { host, port, tls: tls as TargetTls };
}

/** Parses what the edge sends on a control socket (run by the connector). */
export function parseEdgeToConnector(text: string): EdgeToConnector {
  const o = parseJson(text);
  if (o['type'] !== 'dial') fail(`unknown control message type`);
  const protocol = o['protocol'];
  if (!(CONNECTION_PROTOCOLS as readonly unknown[]).includes(protocol)) fail('unsupported protocol');
  const msg: DialRequest = {
    type: 'dial',
    sessionId: str(o, 'sessionId', 128),
    channelToken: str(o, 'channelToken', 256),
    protocol: protocol as ConnectionProtocol,
    target: parseTarget(o['target']),
  };
  if (!TLS_OF_PROTOCOL[msg.protocol].includes(msg.target.tls))
    fail(`target.tls ${msg.target.tls} is not a transport for ${msg.protocol}`);
  if (o['credentialRef'] !== undefined) msg.credentialRef = str(o, 'credentialRef', 256);
  if (o['ca'] !== undefined) {
    const ca = str(o, 'ca', MAX_DIAL_CA_CHARS);
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) fail('ca must be PEM certificates');
    msg.ca = ca;
  }
  return msg;
}

/** Parses what a connector sends on its control socket (run by the ConnectorDO). */
export function parseConnectorToEdge(text: string): ConnectorToEdge {
  const o = parseJson(text);
  if (o['type'] !== 'hello') fail('unknown control message type');
  return {
    type: 'hello',
    replicaId: str(o, 'replicaId', 128),
    version: str(o, 'version', 64),
    hostname: str(o, 'hostname', 253),
  };
}

/** Parses the first text frame of a data channel (run by the SessionDO). */
export function parseChannelFromConnector(text: string): ChannelFromConnector {
  const o = parseJson(text);
  if (o['type'] === 'channel-hello') {
    const hello: ChannelHello = { type: 'channel-hello' };
    if (o['credential'] !== undefined) hello.credential = str(o, 'credential', MAX_RESOLVED_CREDENTIAL_CHARS);
    return hello;
  }
  if (o['type'] === 'channel-error') {
    const reason = o['reason'];
    if (
      reason !== 'not-allowed' &&
      reason !== 'unreachable' &&
      reason !== 'credential-missing' &&
      reason !== 'tls-failed'
    )
      fail('unknown channel-error reason');
    return { type: 'channel-error', reason, message: str(o, 'message', 1024) };
  }
  fail('unknown channel message type');
}

/** Parses an edge -> connector message on a data channel (run by the connector). */
/** A kubernetes channel's credential frame (ChannelCredential). */
export function parseChannelCredential(text: string): ChannelCredential {
  const o = parseJson(text);
  if (o['type'] !== 'channel-credential') fail('unknown channel message type');
  return { type: 'channel-credential', credential: str(o, 'credential', MAX_RESOLVED_CREDENTIAL_CHARS) };
}

export function parseChannelFromEdge(text: string): ChannelCancel {
  const o = parseJson(text);
  if (o['type'] !== 'cancel') fail('unknown channel message type');
  const pid = o['processId'];
  const key = o['secretKey'];
  if (typeof pid !== 'number' || !Number.isInteger(pid) || typeof key !== 'number' || !Number.isInteger(key))
    fail('cancel keys must be integers');
  return { type: 'cancel', processId: pid | 0, secretKey: key | 0 };
}
