/**
 * The WebSocket subprotocols Postern lets a client offer for pods/exec, pods/attach and
 * pods/portforward: only those whose messages it reads (docs/kubernetes.md "Exec, attach,
 * port-forward"). The client's list (its order is its preference, RFC 6455 §4.1) is cut down to
 * them before the upgrade goes upstream, so the API server can only choose one of them.
 *
 * Remote command (exec, attach): `v5.channel.k8s.io` (Kubernetes ≥ 1.30, KEP-4006: adds channel
 * 255, "close", so stdin can end) and `v4.channel.k8s.io` (the same channels, 0 stdin, 1 stdout,
 * 2 stderr, 3 error as a `Status`, 4 resize). kubectl ≥ 1.30 offers v5 first, then v4: an older
 * server picks v4. The older `channel.k8s.io` v1–v3 (plain-text errors, no resize) and the
 * `base64.channel.k8s.io` variants (text messages, channel as an ASCII digit) are not read, so
 * they are not offered upstream; a client offering none of v5/v4 is refused (400).
 *
 * Port forward: `SPDY/3.1+portforward.k8s.io` (kubectl ≥ 1.31: SPDY frames inside the
 * WebSocket, the ports named in each SPDY stream's compressed headers) and `v4.channel.k8s.io`
 * (one port per `ports` query value). Port-forward bytes are a TCP connection's, neither masked
 * nor recorded (as SSH port forwarding), so both pass as they are; policy decides
 * `k8s:portforward` on the request before the upgrade.
 *
 * SPDY upgrades (`Upgrade: SPDY/3.1` on a POST, kubectl's fallback for servers older than 1.30)
 * are not carried: the edge speaks WebSocket only.
 */

export const REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export type RemoteCommandProtocol = (typeof REMOTE_COMMAND_PROTOCOLS)[number];
export const PORT_FORWARD_PROTOCOLS = ['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io'] as const;

/** Most entries read from a client's `Sec-WebSocket-Protocol` (kubectl sends 5). */
const MAX_OFFERED = 32;

export type SubprotocolChoice = { offer: string[] } | { refuse: string };

/**
 * What to offer the API server for a client that offered `header` (its `Sec-WebSocket-Protocol`
 * values, comma-separated, possibly over several header lines joined with ", ").
 */
export function upstreamSubprotocols(
  action: 'k8s:exec' | 'k8s:attach' | 'k8s:portforward',
  header: string | undefined,
): SubprotocolChoice {
  const offered = (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (offered.length > MAX_OFFERED) return { refuse: `more than ${MAX_OFFERED} subprotocols offered` };
  const readable: readonly string[] =
    action === 'k8s:portforward' ? PORT_FORWARD_PROTOCOLS : REMOTE_COMMAND_PROTOCOLS;
  const offer = [...new Set(offered.filter((p) => readable.includes(p)))];
  if (offer.length === 0)
    return {
      refuse: `unable to upgrade: Postern reads only the subprotocols ${readable.join(', ')} for ${action}`,
    };
  return { offer };
}

/** The remote command protocol the API server chose, if it is one Postern reads. */
export function remoteCommandProtocol(chosen: string | undefined): RemoteCommandProtocol | undefined {
  return REMOTE_COMMAND_PROTOCOLS.find((p) => p === chosen);
}
