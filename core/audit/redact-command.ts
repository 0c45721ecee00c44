/**
 * Command lines as they may be audited and shown to approvers, whatever the protocol that carried
 * them (an SSH exec, a Kubernetes exec's command).
 */
import { detect, type DetectorKind } from '../mask/detectors.ts';

/** Key and token shapes taken out of audited commands whatever the connection masks. */
const COMMAND_SECRETS: ReadonlySet<DetectorKind> = new Set(['private_key', 'jwt', 'cloud_key']);

/**
 * The command as it may be audited and shown to approvers: values of password fields
 * (`--password=x`, `PGPASSWORD=x`), passwords in URIs (`postgres://u:x@h`), bearer tokens, and
 * keys and tokens the detectors know are replaced. Best effort, like the SQL redaction
 * (redact-secrets.ts): a secret in no known shape stays.
 */
export function redactCommand(command: string): string {
  const out = command
    .replace(/(pass(?:word|wd)?["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s'"]+)/gi, '$1[REDACTED]')
    .replace(/(:\/\/[^\s/?#@:]*:)[^\s/?#@]*@/g, '$1[REDACTED]@')
    .replace(/\b(bearer|token)(\s+|=|:\s*)[A-Za-z0-9._~+/=-]{8,}/gi, '$1$2[REDACTED]');
  const found = detect(out, COMMAND_SECRETS);
  if (found.length === 0) return out;
  let text = '';
  let at = 0;
  for (const d of found) {
    text += `${out.slice(at, d.start)}[REDACTED:${d.kind}]`;
    at = d.end;
  }
  return text + out.slice(at);
}

/**
 * A command (or path) as approvers read it in a held request's text: the whole of it as a JSON
 * string, never cut, so a tail past what a message quotes cannot hide (`sudo true …; rm -rf /`).
 * Every control, format and line/paragraph separator character is a `\uXXXX` escape (JSON.stringify
 * leaves C1 controls, bidirectional overrides and U+2028/9 as they are), so nothing reorders or
 * breaks the line a person reads; JSON.parse gives the command back.
 */
export function quotedForApprovers(text: string): string {
  return JSON.stringify(text).replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
