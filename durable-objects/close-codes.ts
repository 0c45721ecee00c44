/**
 * 1005 (no status) and 1006 (abnormal closure) are reserved: they describe a close, they must
 * never be sent in a Close frame (RFC 6455 §7.4.1); workerd throws if you try. Echoing the
 * code a peer "sent" would do exactly that when the peer vanished.
 */
export function safeCloseCode(code: number): number {
  if (
    code === 1000 ||
    (code >= 1001 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  ) {
    return code;
  }
  return 1000;
}
