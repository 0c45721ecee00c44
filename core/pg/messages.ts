/**
 * Builders and parsers for the Postgres messages a gateway writes or must understand
 * (protocol §55.7 "Message Formats"). Builders return complete messages, header included.
 */
import { PosternError } from '../errors.ts';
import { Backend, Frontend } from './message-types.ts';
import { PgReader } from './reader.ts';
import type { CancelKey, ErrorFields } from './types.ts';

const enc = new TextEncoder();

/**
 * A typed message: type byte, int32 length (self-inclusive), body. The type is a byte of
 * message-types.ts (tests may spell it as its letter).
 */
export function typedMessage(type: number | string, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(5 + n);
  out[0] = typeof type === 'number' ? type : type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + n);
  let o = 5;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function untypedMessage(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(4 + n);
  new DataView(out.buffer).setInt32(0, 4 + n);
  let o = 4;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

export function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

export function cstring(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.byteLength + 1);
  out.set(b, 0);
  return out;
}

// ---- backend messages the gateway writes -----------------------------------------------------

export const authenticationOk = (): Uint8Array => typedMessage(Backend.Authentication, int32(0));
export const parameterStatus = (name: string, value: string): Uint8Array =>
  typedMessage(Backend.ParameterStatus, cstring(name), cstring(value));
export const backendKeyData = (pid: number, secret: number): Uint8Array =>
  typedMessage(Backend.BackendKeyData, int32(pid), int32(secret));
/**
 * NegotiateProtocolVersion ('v', protocol §55.7): the newest minor version of protocol 3 the
 * gateway speaks, and the `_pq_.*` options of the client it does not support.
 */
export const negotiateProtocolVersion = (minor: number, unsupported: string[]): Uint8Array =>
  typedMessage(
    Backend.NegotiateProtocolVersion,
    int32(minor),
    int32(unsupported.length),
    ...unsupported.map(cstring),
  );
export const readyForQuery = (status: 'I' | 'T' | 'E'): Uint8Array =>
  typedMessage(Backend.ReadyForQuery, enc.encode(status));

function fieldsMessage(type: number, f: ErrorFields): Uint8Array {
  // S (localized severity), V (non-localized, 9.6+), C (SQLSTATE), M, D, H (protocol §55.8).
  const parts = [
    enc.encode('S'),
    cstring(f.severity),
    enc.encode('V'),
    cstring(f.severity),
    enc.encode('C'),
    cstring(f.code),
    enc.encode('M'),
    cstring(f.message),
  ];
  if (f.detail) parts.push(enc.encode('D'), cstring(f.detail));
  if (f.hint) parts.push(enc.encode('H'), cstring(f.hint));
  parts.push(new Uint8Array([0]));
  return typedMessage(type, ...parts);
}

export const errorResponse = (f: ErrorFields): Uint8Array => fieldsMessage(Backend.ErrorResponse, f);
export const noticeResponse = (f: ErrorFields): Uint8Array => fieldsMessage(Backend.NoticeResponse, f);

// ---- frontend messages the gateway writes upstream -------------------------------------------

export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

export function startupMessage(params: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [int32(PROTOCOL_3_0)];
  for (const [k, v] of Object.entries(params)) parts.push(cstring(k), cstring(v));
  parts.push(new Uint8Array([0]));
  return untypedMessage(...parts);
}

export const sslRequest = (): Uint8Array => untypedMessage(int32(SSL_REQUEST_CODE));
export const cancelRequest = (key: CancelKey): Uint8Array =>
  untypedMessage(int32(CANCEL_REQUEST_CODE), int32(key.processId), int32(key.secretKey));
export const passwordMessage = (password: string): Uint8Array =>
  typedMessage(Frontend.Password, cstring(password));
export const saslInitialResponse = (mechanism: string, data: Uint8Array): Uint8Array =>
  typedMessage(Frontend.Password, cstring(mechanism), int32(data.byteLength), data);
export const saslResponse = (data: Uint8Array): Uint8Array => typedMessage(Frontend.Password, data);
export const terminate = (): Uint8Array => typedMessage(Frontend.Terminate);
export const query = (sql: string): Uint8Array => typedMessage(Frontend.Query, cstring(sql));

// ---- parsers -----------------------------------------------------------------------------------

function fail(message: string): never {
  throw new PosternError('PROTOCOL_VIOLATION', message);
}

export type Authentication =
  | { kind: 'ok' }
  | { kind: 'cleartext' }
  | { kind: 'md5'; salt: Uint8Array }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue'; data: Uint8Array }
  | { kind: 'sasl-final'; data: Uint8Array }
  | { kind: 'unsupported'; code: number };

/** AuthenticationXXX ('R') bodies (protocol §55.7). */
export function parseAuthentication(body: Uint8Array): Authentication {
  const r = new PgReader(body, 0, 'Authentication');
  const code = r.i32();
  switch (code) {
    case 0:
      return { kind: 'ok' };
    case 3:
      return { kind: 'cleartext' };
    case 5:
      if (body.byteLength !== 8) fail('AuthenticationMD5Password must carry a 4-byte salt');
      return { kind: 'md5', salt: r.bytes(4).slice() };
    case 10: {
      const mechanisms: string[] = [];
      while (r.remaining > 0 && body[r.off] !== 0) {
        if (mechanisms.length >= 16) fail('too many SASL mechanisms');
        mechanisms.push(r.cstring());
      }
      return { kind: 'sasl', mechanisms };
    }
    case 11:
      return { kind: 'sasl-continue', data: r.rest().slice() };
    case 12:
      return { kind: 'sasl-final', data: r.rest().slice() };
    default:
      return { kind: 'unsupported', code };
  }
}

/** ErrorResponse/NoticeResponse fields keyed by their one-letter code. */
export function parseErrorFields(body: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  const r = new PgReader(body);
  while (r.remaining > 0 && body[r.off] !== 0) {
    const code = String.fromCharCode(r.u8());
    fields[code] = r.cstring();
  }
  return fields;
}

export function parseParameterStatus(body: Uint8Array): { name: string; value: string } {
  const r = new PgReader(body, 0, 'ParameterStatus');
  return { name: r.cstring(), value: r.cstring() };
}

export function parseBackendKeyData(body: Uint8Array): CancelKey {
  // Protocol 3.0 keys are exactly 4 bytes (3.2 allows longer; we only speak 3.0 upstream).
  if (body.byteLength !== 8) fail('BackendKeyData must be 8 bytes');
  const r = new PgReader(body);
  return { processId: r.i32(), secretKey: r.i32() };
}
