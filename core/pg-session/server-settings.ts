/**
 * The backstop for how the server reads SQL: the server reports client_encoding and
 * standard_conforming_strings in ParameterStatus at startup and whenever they change (protocol
 * §55.2.7, "ParameterStatus ... is sent whenever the active value changes for any of the
 * parameters the frontend should know about"; since PostgreSQL 14 just before the next
 * ReadyForQuery). Whatever route moved the server off the gateway's reading (a role or database
 * default, a function the gateway cannot see into), the report says so, and the session ends
 * before anything more is forwarded. core/sql/reading-settings.ts is the other half: routes the
 * gateway can see are refused before they run.
 */
import type { PgFrame } from '../pg/framer.ts';
import type { CloseReason } from './close-reason.ts';
import { Backend } from '../pg/message-types.ts';

/** The values the gateway reads SQL with, as the server reports them. */
const EXPECTED: Record<string, string> = {
  client_encoding: 'UTF8',
  standard_conforming_strings: 'on',
};

/** Names of the settings that must be reported at startup. */
export const REQUIRED_REPORTS = Object.keys(EXPECTED);

/** A reported setting: its name and value (ParameterStatus: two C strings). */
export function parameterStatus(body: Uint8Array): { name: string; value: string } | undefined {
  const end = body.indexOf(0);
  if (end < 0) return undefined;
  const valueEnd = body.indexOf(0, end + 1);
  if (valueEnd < 0) return undefined;
  return { name: latin(body.subarray(0, end)), value: latin(body.subarray(end + 1, valueEnd)) };
}

/**
 * Why a reported setting means the server no longer reads SQL as the gateway does, or
 * undefined when it does (or the setting is another one).
 */
export function unsafeReport(name: string, value: string): string | undefined {
  const expected = Object.hasOwn(EXPECTED, name) ? EXPECTED[name] : undefined;
  if (expected === undefined || value === expected) return undefined;
  return (
    `the target database now reads SQL with ${name} = ${JSON.stringify(value)}; Postern checks statements ` +
    `as the server reads them with ${name} = ${expected}, so the session was closed`
  );
}

/**
 * Why the session must end because of a ParameterStatus among target frames, if it must (one
 * type check per frame).
 */
export function readingChangeIn(frames: PgFrame[]): CloseReason | undefined {
  for (const f of frames) {
    if (f.type !== Backend.ParameterStatus) continue;
    const p = parameterStatus(f.body);
    if (!p) return { kind: 'upstream-protocol', detail: 'malformed ParameterStatus' };
    const why = unsafeReport(p.name, p.value);
    if (why) return { kind: 'reading-changed', detail: why };
  }
  return undefined;
}

/** Setting names are ASCII; a byte-wise decode cannot fail and changes nothing for them. */
function latin(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
