/**
 * A request body read whole, bounded as it streams: the Worker reads a Kubernetes request's body
 * before it is forwarded (so it can be sent again to the session's next object), and the
 * SessionDO reads it again to hand the module (both under MAX_EXCHANGE_BODY_BYTES). Undefined
 * when it is over `max` bytes, declared or counted as it streams.
 */
export async function readBounded(
  request: Request,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > max) return undefined;
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
