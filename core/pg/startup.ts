/**
 * The first packets of a client connection (protocol §55.2.1 / §55.7): SSLRequest,
 * GSSENCRequest, CancelRequest or a StartupMessage, told apart by the int32 code after the length.
 */
import { PosternError } from '../errors.ts';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE } from './messages.ts';
import { PgReader } from './reader.ts';

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  | { kind: 'startup'; protocol: number; params: Record<string, string> };

const MAX_PARAMS = 64;

function fail(message: string): never {
  throw new PosternError('PROTOCOL_VIOLATION', message);
}

/** Parses a startup-phase packet body (after the int32 length). */
export function parseStartupPacket(body: Uint8Array): StartupPacket {
  if (body.byteLength < 4) fail('startup packet too short');
  const r = new PgReader(body, 0, 'startup packet');
  const code = r.i32();
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
    if (body.byteLength !== 4) fail('malformed SSL/GSS request');
    return { kind: code === SSL_REQUEST_CODE ? 'ssl' : 'gssenc' };
  }
  if (code === CANCEL_REQUEST_CODE) {
    if (body.byteLength !== 12) fail('malformed CancelRequest');
    return { kind: 'cancel', processId: r.i32(), secretKey: r.i32() };
  }
  // A newer minor version of protocol 3 is answered with NegotiateProtocolVersion (§55.2.1),
  // as a server does; another major version is refused.
  if (code >>> 16 !== PROTOCOL_3_0 >>> 16) {
    fail(`unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: Postern speaks 3.0`);
  }
  const params: Record<string, string> = {};
  let count = 0;
  while (r.remaining > 0 && body[r.off] !== 0) {
    const key = r.cstring();
    if (r.remaining === 0) fail(`startup parameter ${key} has no value`);
    const value = r.cstring();
    if (++count > MAX_PARAMS) fail('too many startup parameters');
    if (Object.hasOwn(params, key)) fail(`duplicate startup parameter ${key}`);
    // Assigning `__proto__` would be dropped silently (absent from what is checked and audited);
    // Postgres has no such parameter, so refuse it as the name it is.
    if (key === '__proto__') fail('startup parameter __proto__ is not a parameter');
    params[key] = value;
  }
  if (r.off !== body.byteLength - 1) fail('startup packet not terminated');
  if (!params['user']) fail('startup packet has no user');
  return { kind: 'startup', protocol: code, params };
}
