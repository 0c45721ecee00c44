/**
 * The gateway's answer to the client's StartupMessage, as a decision with no I/O: which
 * parameters go to the target (client-params.ts), whether the client must be told what of its
 * protocol request Postern does not support (NegotiateProtocolVersion, protocol §55.2.1), and
 * whether the policy refuses a setting it asked for (startup-policy.ts). The session sends what
 * this returns; docs/policy.md, "Startup parameters", describes the rules.
 */
import { negotiateProtocolVersion } from '../pg/messages.ts';
import type { StatementChecker } from './checker.ts';
import { startupRequest } from './client-params.ts';
import type { CloseReason } from './close-reason.ts';
import { startupPolicyRefusal } from './startup-policy.ts';

export type ClientStartup = {
  /** A NegotiateProtocolVersion for the client, sent before anything else. */
  negotiate: Uint8Array | undefined;
} & (
  | {
      ok: true;
      /** The target's StartupMessage parameters. */
      upstream: Record<string, string>;
      /** Settings of the client are forwarded (the target's refusal of one is relayed). */
      clientSettings: boolean;
    }
  | { ok: false; reason: CloseReason }
);

/** Decides a StartupMessage of `protocol` (major << 16 | minor) with `params`. */
export function clientStartup(
  protocol: number,
  params: Record<string, string>,
  config: { upstreamUser: string; upstreamDatabase: string; checker?: StatementChecker | undefined },
): ClientStartup {
  const request = startupRequest(params, { user: config.upstreamUser, database: config.upstreamDatabase });
  const minor = protocol & 0xffff;
  const unsupported = request.ok ? request.unsupportedOptions : [];
  // The server answers first, before authentication (§55.2.1): the client learns it has 3.0.
  const negotiate =
    minor > 0 || unsupported.length > 0 ? negotiateProtocolVersion(0, unsupported) : undefined;
  if (!request.ok) {
    const reason: CloseReason = {
      kind: 'startup-refused',
      detail: request.message,
      ...(request.hint ? { hint: request.hint } : {}),
    };
    return { negotiate, ok: false, reason };
  }
  const refused = config.checker && startupPolicyRefusal(request.checks, config.checker);
  if (refused) return { negotiate, ok: false, reason: refused };
  return { negotiate, ok: true, upstream: request.upstream, clientSettings: request.forwarded.length > 0 };
}
