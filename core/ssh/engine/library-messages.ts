/**
 * Message classes of the SSH library that its entry point does not export. They are taken
 * from its own message table (RFC 4254 §5 numbers) instead of a deep import: a bundler or
 * test runner may load a deep path as a second copy of the module, and the library tells
 * messages apart with `instanceof`.
 */
import { SshSessionConfiguration, type ChannelMessage, type SshMessage } from '@microsoft/dev-tunnels-ssh';

const table = new SshSessionConfiguration().messages;

function messageClass<T extends SshMessage>(type: number): new () => T {
  const c = table.get(type);
  if (!c) throw new Error(`the SSH library has no message ${type}`);
  return c as unknown as new () => T;
}

export interface ExtendedDataMessage extends ChannelMessage {
  dataTypeCode: number;
  data: Uint8Array;
}

/** SSH_MSG_CHANNEL_EXTENDED_DATA (95). */
export const ChannelExtendedDataMessage = messageClass<ExtendedDataMessage>(95);
/** SSH_MSG_CHANNEL_CLOSE (97). */
export const ChannelCloseMessage = messageClass<ChannelMessage>(97);
/** SSH_MSG_CHANNEL_SUCCESS (99). */
export const ChannelSuccessMessage = messageClass<ChannelMessage>(99);
/** SSH_MSG_CHANNEL_FAILURE (100). */
export const ChannelFailureMessage = messageClass<ChannelMessage>(100);
