/**
 * What a refused statement tells the person who sent it: the policy's own reason (a Cedar
 * `@reason("...")` annotation), the policy ids for an admin, and what to do next.
 *
 * A refusal travels through the session as one string (the audit trail records it, approvals
 * and the flow pass it on); its DETAIL and HINT ride on lines of their own, as psql prints them,
 * and `refusalFields` splits them into the ErrorResponse's D and H fields (protocol §55.8) at the
 * wire. The reason is admin-written text shown to every user the policy refuses: it is cleaned
 * of control and format characters (so it cannot fake lines or reorder what psql shows) and
 * bounded.
 */

/** Longest reason shown, in characters; longer ones are cut with an ellipsis. */
export const MAX_REASON_CHARS = 200;

/** Cedar annotation a policy gives its reason in. */
export const REASON_ANNOTATION = 'reason';

/**
 * `text` as one line a user may read: control (Cc) and format (Cf: bidi overrides, zero-width)
 * characters become spaces, runs of white space one space, at most MAX_REASON_CHARS.
 * Undefined when nothing readable is left.
 */
export function cleanReason(text: string): string | undefined {
  const one = text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (one === '') return undefined;
  const chars = [...one];
  return chars.length <= MAX_REASON_CHARS ? one : `${chars.slice(0, MAX_REASON_CHARS - 1).join('')}…`;
}

export interface RefusalText {
  message: string;
  detail?: string;
  hint?: string;
}

const DETAIL = '\nDETAIL: ';
const HINT = '\nHINT: ';

/** The one string a refusal travels as: `message`, then DETAIL and HINT lines when present. */
export function refusalString(r: RefusalText): string {
  return `${r.message}${r.detail ? DETAIL + r.detail : ''}${r.hint ? HINT + r.hint : ''}`;
}

/** The parts of a refusal string (any string: one without DETAIL/HINT lines is all message). */
export function refusalFields(text: string): RefusalText {
  let rest = text;
  const out: RefusalText = { message: '' };
  const h = rest.lastIndexOf(HINT);
  if (h >= 0) {
    out.hint = rest.slice(h + HINT.length);
    rest = rest.slice(0, h);
  }
  const d = rest.lastIndexOf(DETAIL);
  if (d >= 0) {
    out.detail = rest.slice(d + DETAIL.length);
    rest = rest.slice(0, d);
  }
  out.message = rest;
  return out;
}

export interface DenialFacts {
  /** e.g. sql:delete */
  action: string;
  /** `on table "public.customers"` or `on connection "demo"` */
  on: string;
  /** Connection name, for the commands of the hint. */
  connection: string;
  /** Forbid policies that decided (empty: no permit applied, Cedar's default deny). */
  policies: string[];
  /** Their reasons (`@reason`), cleaned. */
  reasons: string[];
  /** Some policy reads `context.grants`: `postern access request` can help. */
  grantsHelp: boolean;
}

/** The refusal of a statement policy denied. */
export function denialText(f: DenialFacts): RefusalText {
  const head = `Postern policy denied ${f.action} ${f.on}`;
  if (f.policies.length > 0) {
    const ids = `forbidden by policy ${f.policies.join(', ')}`;
    if (f.reasons.length === 0)
      return {
        message: `${head}: ${ids}`,
        hint: `The policy gives no reason; an admin of connection "${f.connection}" can say why, or change it.`,
      };
    return { message: `${head}: ${f.reasons.join('; ')}`, detail: ids };
  }
  return {
    message: `${head}: no policy permits it`,
    detail: `No permit policy of connection "${f.connection}" allows ${f.action} for you.`,
    hint: f.grantsHelp
      ? `Ask for time-boxed access: postern access request ${f.connection} --action ${f.action} --for 1h --reason TEXT (or ask an admin to permit it).`
      : `An admin of connection "${f.connection}" can permit ${f.action} in its policy.`,
  };
}
