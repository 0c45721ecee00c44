/**
 * How an outbox batch is cut into Cloudflare Queue messages and `sendBatch` calls, within the
 * platform's limits (https://developers.cloudflare.com/queues/platform/limits/, "1 KB is measured
 * as 1000 bytes"): a message holds at most 128 KB including ~100 bytes of metadata, and one
 * `sendBatch` at most 100 messages and 256 KB in all. Pure: the caller gives each item's
 * serialized size; order is kept (items in order inside a message, messages in order).
 */

/** Bytes of one message body we allow ourselves: 128,000 less metadata and a margin. */
export const MESSAGE_BODY_BYTES = 120_000;
/** Messages per `sendBatch` call (Cloudflare: 100). */
export const SEND_BATCH_MESSAGES = 100;
/** Bytes of all bodies of one `sendBatch` call (Cloudflare: 256 KB; ~100 bytes of metadata each). */
export const SEND_BATCH_BYTES = 240_000;

export interface QueueLimits {
  messageBytes: number;
  batchMessages: number;
  batchBytes: number;
}

export const QUEUE_LIMITS: QueueLimits = {
  messageBytes: MESSAGE_BODY_BYTES,
  batchMessages: SEND_BATCH_MESSAGES,
  batchBytes: SEND_BATCH_BYTES,
};

export interface Packed<T> {
  /** `sendBatch` calls, each a list of messages, each a list of items. */
  sends: T[][][];
  /** Items that do not fit in one message even alone; the caller writes them another way. */
  tooLarge: T[];
}

/**
 * Packs `items` greedily: a message is `envelopeBytes` plus its items' sizes plus one separator
 * byte between items (a JSON array); a message is closed when the next item would not fit, a
 * `sendBatch` when the next message would not. Linear in the number of items.
 */
export function packForQueue<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  envelopeBytes: number,
  limits: QueueLimits = QUEUE_LIMITS,
): Packed<T> {
  const sends: T[][][] = [];
  const tooLarge: T[] = [];
  let send: T[][] = [];
  let sendBytes = 0;
  let message: T[] = [];
  let messageBytes = envelopeBytes;

  const closeMessage = () => {
    if (message.length === 0) return;
    if (send.length === limits.batchMessages || sendBytes + messageBytes > limits.batchBytes) {
      sends.push(send);
      send = [];
      sendBytes = 0;
    }
    send.push(message);
    sendBytes += messageBytes;
    message = [];
    messageBytes = envelopeBytes;
  };

  for (const item of items) {
    const size = bytesOf(item);
    if (envelopeBytes + size > limits.messageBytes) {
      tooLarge.push(item);
      continue;
    }
    const added = (message.length > 0 ? 1 : 0) + size;
    if (messageBytes + added > limits.messageBytes) closeMessage();
    messageBytes += (message.length > 0 ? 1 : 0) + size;
    message.push(item);
  }
  closeMessage();
  if (send.length > 0) sends.push(send);
  return { sends, tooLarge };
}

/** UTF-8 length of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
