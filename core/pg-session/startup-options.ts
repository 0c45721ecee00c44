/**
 * The settings a StartupMessage's `options` parameter asks for (libpq's `options`/PGOPTIONS), read
 * as the server reads them: split on unescaped whitespace (src/backend/utils/init/postinit.c,
 * pg_split_opts), then parsed as the backend's command line (src/backend/tcop/postgres.c,
 * process_postgres_switches: getopt "B:bC:c:D:d:EeFf:h:ijk:lN:nOPp:r:S:sTt:v:W:-:"), where
 * `-c name=value` and `--name=value` set a setting and `-` in a name means `_`
 * (src/backend/utils/misc/guc.c, ParseLongOption).
 */

const WITH_ARGUMENT = new Set('BCcDdfhkNprStvW-');

export interface StartupSetting {
  name: string;
  value: string | undefined;
}

/** Every setting the options ask for, in order (switches that set no setting are left out). */
export function optionSettings(options: string): StartupSetting[] {
  const out: StartupSetting[] = [];
  const args = splitOptions(options);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') continue;
    // One token may group switches (`-ec x=y`); the first that takes an argument takes the rest
    // of the token, or the next token.
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!;
      if (!WITH_ARGUMENT.has(ch)) continue;
      let value = arg.slice(j + 1);
      if (value === '') value = args[++i] ?? '';
      if (ch === 'c' || ch === '-') out.push(longOption(value));
      break;
    }
  }
  return out;
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
