/**
 * A StartupMessage's `options` parameter (libpq's `options`/PGOPTIONS), read as the server reads
 * it: split on unescaped whitespace (src/backend/utils/init/postinit.c, pg_split_opts), then
 * parsed as the backend's command line (src/backend/tcop/postgres.c, process_postgres_switches:
 * getopt "B:bC:c:D:d:EeFf:h:ijk:lN:nOPp:r:S:sTt:v:W:-:"), where `-c name=value` and
 * `--name=value` set a setting and `-` in a name means `_` (src/backend/utils/misc/guc.c,
 * ParseLongOption). Every other switch (`-B 8`, `-e`, `-P`, `-W 30`...) sets something too, under
 * another name; those are reported as switches so that the caller can refuse them.
 */

const WITH_ARGUMENT = new Set('BCcDdfhkNprStvW-');

export interface StartupSetting {
  name: string;
  value: string | undefined;
}

export type OptionEntry =
  | ({ kind: 'setting' } & StartupSetting)
  /** A switch other than -c/--: `-e`, `-B 8`... (`text` as written, without its argument). */
  | { kind: 'switch'; text: string }
  /** A token that is no switch: the server refuses the whole connection for it. */
  | { kind: 'argument'; text: string };

/** Every switch of the options, in order. */
export function optionEntries(options: string): OptionEntry[] {
  const out: OptionEntry[] = [];
  const args = splitOptions(options);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // getopt: `--` alone ends the switches, and what follows it is arguments.
    if (arg === '--') {
      for (const rest of args.slice(i + 1)) out.push({ kind: 'argument', text: rest });
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.push({ kind: 'argument', text: arg });
      continue;
    }
    // One token may group switches (`-ec x=y`); the first that takes an argument takes the rest
    // of the token, or the next token.
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!;
      if (!WITH_ARGUMENT.has(ch)) {
        out.push({ kind: 'switch', text: `-${ch}` });
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') value = args[++i] ?? '';
      if (ch === 'c' || ch === '-') out.push({ kind: 'setting', ...longOption(value) });
      else out.push({ kind: 'switch', text: `-${ch}` });
      break;
    }
  }
  return out;
}

/** Only the settings (`-c`/`--`) of the options, in order. */
export function optionSettings(options: string): StartupSetting[] {
  return optionEntries(options).flatMap((e) =>
    e.kind === 'setting' ? [{ name: e.name, value: e.value }] : [],
  );
}

function longOption(arg: string): StartupSetting {
  const eq = arg.indexOf('=');
  const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/-/g, '_');
  return { name, value: eq < 0 ? undefined : arg.slice(eq + 1) };
}

/** pg_split_opts: whitespace separates, a backslash makes the next character literal. */
function splitOptions(options: string): string[] {
  const out: string[] = [];
  let current = '';
  let inToken = false;
  let escaped = false;
  for (const ch of options) {
    if (!escaped && /[ \t\n\r\f\v]/.test(ch)) {
      if (inToken) out.push(current);
      current = '';
      inToken = false;
      continue;
    }
    inToken = true;
    if (!escaped && ch === '\\') {
      escaped = true;
      continue;
    }
    escaped = false;
    current += ch;
  }
  if (inToken) out.push(current);
  return out;
}
