/**
 * The few SSH messages and fields the engine reads or writes itself, beyond what the library
 * parses: the user-auth banner (RFC 4252 §5.4), the payloads of channel requests (RFC 4254
 * §6) and the direct-tcpip open (RFC 4254 §7.2). Requests are forwarded as the exact bytes
 * the client sent (only the recipient channel is rewritten), and policy reads these same
 * bytes, so what is decided is what the target receives.
 */
import {
  ChannelOpenMessage,
  ChannelRequestMessage,
  SessionRequestMessage,
  SessionRequestSuccessMessage,
  SshDataReader,
  SshDataWriter,
  SshMessage,
} from '@microsoft/dev-tunnels-ssh';
import { copyToLibrary, toLibrary } from './library-bytes.ts';

const strict = new TextDecoder('utf-8', { fatal: true });

/** SSH_MSG_USERAUTH_BANNER: text OpenSSH prints on stderr before auth completes. */
export class BannerMessage extends SshMessage {
  constructor(private readonly text: string) {
    super();
  }
  override get messageType(): number {
    return 53;
  }
  protected override onWrite(writer: SshDataWriter): void {
    writer.writeString(this.text, 'utf8');
    writer.writeString('', 'ascii');
  }
}

/** A copy of a received channel request that can be re-sent on another channel as is. */
export function forwardableRequest(request: ChannelRequestMessage): ChannelRequestMessage {
  const raw = rawBytesOf(request);
  const copy = new ChannelRequestMessage();
  copy.read(new SshDataReader(copyToLibrary(raw)));
  return copy;
}

function rawBytesOf(message: SshMessage): Uint8Array {
  // The library keeps each received message's bytes for re-sending ("piped messages are
  // rewritten without re-serialization", SshMessage.write); they are not in its typings.
  const raw = (message as unknown as { rawBytes?: Uint8Array }).rawBytes;
  if (!raw) throw new Error('request has no bytes');
  return raw;
}

/**
 * The request-specific fields after byte, uint32 recipient, string type, boolean want-reply.
 */
export function requestPayload(request: ChannelRequestMessage): SshDataReader {
  const raw = rawBytesOf(request);
  const typeLength = new TextEncoder().encode(request.requestType ?? '').length;
  return new SshDataReader(toLibrary(raw.subarray(1 + 4 + 4 + typeLength + 1)));
}

/** A string field that must be valid UTF-8 without NUL (a C string on the target). */
export function readText(r: SshDataReader, max: number): string {
  const bytes = r.readBinary();
  if (bytes.length > max) throw new Error(`a field is longer than ${max} bytes`);
  const text = strict.decode(bytes);
  if (text.includes('\0')) throw new Error('a field contains a NUL byte');
  return text;
}

/** The fields of a direct-tcpip (RFC 4254 §7.2) or forwarded-tcpip (§7.1) open. */
export interface DirectTcpip {
  host: string;
  port: number;
  originHost: string;
  originPort: number;
}

/**
 * The fields of a direct-tcpip open (RFC 4254 §7.2: host to connect, port, originator address,
 * port), read from the received message; a forwarded-tcpip open (§7.1: address that was
 * connected, port, originator address, port) has the same layout.
 */
export function readDirectTcpip(open: ChannelOpenMessage): DirectTcpip {
  const raw = rawBytesOf(open);
  const typeLength = new TextEncoder().encode(open.channelType ?? '').length;
  const r = new SshDataReader(toLibrary(raw.subarray(1 + 4 + typeLength + 12)));
  const host = readText(r, 255);
  const port = r.readUInt32();
  const originHost = readText(r, 255);
  const originPort = r.readUInt32();
  if (port > 65535 || originPort > 65535) throw new Error('port out of range');
  return { host, port, originHost, originPort };
}

/** A channel open for the target side: same type and type-specific fields as the client's. */
export class RelayedOpenMessage extends ChannelOpenMessage {
  constructor(
    type: string,
    private readonly extra: Uint8Array,
    window: number,
    packet: number,
  ) {
    super();
    this.channelType = type;
    this.maxWindowSize = window;
    this.maxPacketSize = packet;
  }
  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.write(toLibrary(this.extra));
  }
}

/** The type-specific bytes of a received channel open (after the four standard fields). */
export function openExtra(open: ChannelOpenMessage): Uint8Array {
  const raw = rawBytesOf(open);
  const typeLength = new TextEncoder().encode(open.channelType ?? '').length;
  return raw.slice(1 + 4 + typeLength + 12);
}

/** A global request's fields (RFC 4254 §4) after string type, boolean want-reply. */
export function globalRequestPayload(request: SessionRequestMessage): SshDataReader {
  const raw = rawBytesOf(request);
  const typeLength = new TextEncoder().encode(request.requestType ?? '').length;
  return new SshDataReader(toLibrary(raw.subarray(1 + 4 + typeLength + 1)));
}

/** The address and port of a `tcpip-forward` / `cancel-tcpip-forward` (RFC 4254 §7.1). */
export function readTcpipForward(request: SessionRequestMessage): { host: string; port: number } {
  const r = globalRequestPayload(request);
  const host = readText(r, 255);
  const port = r.readUInt32();
  if (port > 65535) throw new Error('port out of range');
  return { host, port };
}

/**
 * A `tcpip-forward` / `cancel-tcpip-forward` the gateway sends the target, written from the
 * fields policy decided (RFC 4254 §7.1: string address to bind, uint32 port to bind).
 */
export class TcpipForwardMessage extends SessionRequestMessage {
  constructor(
    type: 'tcpip-forward' | 'cancel-tcpip-forward',
    private readonly host: string,
    private readonly port: number,
  ) {
    super(type, true);
  }
  protected override onWrite(writer: SshDataWriter): void {
    super.onWrite(writer);
    writer.writeString(this.host, 'utf8');
    writer.writeUInt32(this.port);
  }
}

/** SSH_MSG_REQUEST_SUCCESS of a `tcpip-forward`: the port bound when port 0 was asked (§7.1). */
export class TcpipForwardSuccessMessage extends SessionRequestSuccessMessage {
  port: number | undefined;
  protected override onRead(reader: SshDataReader): void {
    this.port = reader.available >= 4 ? reader.readUInt32() : undefined;
  }
  protected override onWrite(writer: SshDataWriter): void {
    if (this.port !== undefined) writer.writeUInt32(this.port);
  }
}
