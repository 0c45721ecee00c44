/**
 * What the gateway does with each StartupMessage parameter of the client (protocol §55.7,
 * StartupMessage; src/backend/tcop/backend_startup.c, ProcessStartupPacket), as a decision with
 * no I/O:
 *
 * - `user`, `database`: the connection's, never the client's (the token is the identity).
 * - `replication`: refused unless false; Postern relays SQL sessions only.
 * - `_pq_.*`: protocol options; Postern supports none, so each is named back to the client in a
 *   NegotiateProtocolVersion (§55.2.1) and never sent on.
 * - `options` (`-c name=value`, `--name=value`) and every other parameter set a setting: those on
 *   the reviewed allow-list (core/pg-session/startup-allow-list.ts) are forwarded; the ones that
 *   change how the server reads SQL are accepted only at the values the gateway reads with and
 *   never sent on (the gateway sets `client_encoding` itself); anything else refuses the
 *   connection with a FATAL that names it. Nothing is dropped silently.
 *
 * The server applies `options` first, then the other parameters, in order, a later value of a
 * setting replacing an earlier one (src/backend/utils/init/postinit.c, process_startup_options).
 * Forwarded settings all travel as parameters of their own, in that order, so the server applies
 * exactly the values the gateway checked: no `options` string is rebuilt for the server to split
 * again (pg_split_opts splits on isspace(), which depends on the server's locale for bytes above
 * 0x7f; a parameter's value is taken as it is).
 */
import { isUtf8, parseBool, readingSettingRefusal, READING_SETTINGS } from '../sql/reading-settings.ts';
import { allowedSetting, settingKey } from './startup-allow-list.ts';
import { optionEntries, type StartupSetting } from './startup-options.ts';

/** Settings one client may ask for in all (the StartupMessage itself is at most 10,000 bytes). */
const MAX_SETTINGS = 64;
/** How much of a name or value a refusal quotes. */
const MAX_QUOTED = 64;

export interface StartupRequest {
  ok: true;
  /** The target's StartupMessage parameters. */
  upstream: Record<string, string>;
  /** Names of the client's settings forwarded (the server's spelling). */
  forwarded: string[];
  /** Forwarded settings the policy must allow as `SET name TO value`, in the order applied. */
  checks: StartupSetting[];
  /** `_pq_.*` parameters the client asked for, none of which Postern supports. */
  unsupportedOptions: string[];
}

export interface StartupRefusal {
  ok: false;
  message: string;
  hint?: string;
}

const PROTOCOL_OPTION = '_pq_.';

export function startupRequest(
  client: Record<string, string>,
  injected: { user: string; database: string },
): StartupRequest | StartupRefusal {
  const upstream: Record<string, string> = {
    user: injected.user,
    database: injected.database,
    client_encoding: 'UTF8',
  };
  const settings: Array<StartupSetting & { from: string }> = [];
  const unsupportedOptions: string[] = [];
  // The server reads `options` before the other parameters, whatever their order in the packet.
  for (const [key, value] of Object.entries(client)) {
    if (key !== 'options') continue;
    for (const entry of optionEntries(value)) {
      if (entry.kind !== 'setting') {
        return {
          ok: false,
          message: `startup option ${quote(entry.text)} is not supported through Postern`,
          hint: 'Postern forwards only settings given as -c name=value or --name=value in options.',
        };
      }
      settings.push({ name: entry.name, value: entry.value, from: 'startup option' });
    }
  }
  for (const [key, value] of Object.entries(client)) {
    switch (key) {
      case 'user':
      case 'database':
      case 'options':
        continue;
      case 'replication':
        if (parseBool(value) === false) continue;
        return {
          ok: false,
          message: 'replication connections are not supported through Postern',
          hint: 'Connect without the replication parameter.',
        };
    }
    if (key.startsWith(PROTOCOL_OPTION)) {
      unsupportedOptions.push(key);
      continue;
    }
    settings.push({ name: key, value, from: 'startup parameter' });
  }
  if (settings.length > MAX_SETTINGS) {
    return { ok: false, message: `too many startup settings (at most ${MAX_SETTINGS})` };
  }

  const forwarded = new Map<string, StartupSetting & { policy: 'none' | 'set' }>();
  for (const s of settings) {
    const refusal = settingRefusal(s);
    if (refusal) return refusal;
    const allowed = allowedSetting(s.name);
    if (!allowed) continue; // a reading setting at the gateway's own value
    const key = settingKey(allowed.name);
    forwarded.delete(key); // the later value is the one the server keeps
    forwarded.set(key, { name: allowed.name, value: s.value!, policy: allowed.policy });
  }
  const checks: StartupSetting[] = [];
  for (const s of forwarded.values()) {
    upstream[s.name] = s.value!;
    if (s.policy === 'set') checks.push({ name: s.name, value: s.value });
  }
  return {
    ok: true,
    upstream,
    forwarded: [...forwarded.values()].map((s) => s.name),
    checks,
    unsupportedOptions,
  };
}

/** Why one setting the client asked for refuses the connection, if it does. */
function settingRefusal(s: StartupSetting & { from: string }): StartupRefusal | undefined {
  const shown = quote(s.name);
  if (s.value === undefined) {
    return { ok: false, message: `${s.from} ${shown} has no value (write -c name=value)` };
  }
  const key = settingKey(s.name);
  if (READING_SETTINGS.has(key)) {
    // psql in the C locale says SQL_ASCII: bytes as they come, which is how it reads UTF8, and
    // the target's ParameterStatus tells it client_encoding is UTF8.
    if (key === 'client_encoding' && (isUtf8(s.value) || isSqlAscii(s.value))) return;
    const why = readingSettingRefusal(key, s.value);
    if (!why) return;
    return {
      ok: false,
      message: `${s.from} ${key} refused: ${why.replace(/^statement refused: /, '')}`,
    };
  }
  const allowed = allowedSetting(s.name);
  if (allowed) {
    const why = allowed.valueRefusal?.(s.value);
    return why ? { ok: false, message: `${s.from} ${allowed.name} refused: ${why}` } : undefined;
  }
  if (key === 'role' || key === 'session_authorization') {
    return {
      ok: false,
      message: `${s.from} ${shown} is not forwarded by Postern`,
      hint: 'Take the role with SET ROLE after connecting; the connection policy decides (sql:set_role).',
    };
  }
  return {
    ok: false,
    message: `${s.from} ${shown} is not forwarded by Postern`,
    hint:
      'Set it with SET after connecting (the connection policy decides), or leave it out; ' +
      'docs/policy.md lists the startup settings Postern forwards.',
  };
}

/** An encoding name the server reads as SQL_ASCII (src/common/encnames.c, clean_encoding_name). */
function isSqlAscii(value: string): boolean {
  return value.replace(/[^A-Za-z0-9]/g, '').toLowerCase() === 'sqlascii';
}

/** A client-chosen name or value in a refusal: quoted, bounded. */
function quote(text: string): string {
  const cut = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(cut);
}
