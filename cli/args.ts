/**
 * The one flag parser of every `postern` command: node:util parseArgs, after joining each
 * value-taking flag with its value.
 *
 * parseArgs refuses `--client-secret -x...` ("argument is ambiguous") because a value that
 * starts with `-` might be a forgotten value followed by another flag. Our values are often
 * generated secrets and tokens (base64url starts with `-` one time in 64), so a flag declared
 * `type: 'string'` always takes the next argument, whatever it looks like, as getopt_long does
 * for a required argument. `--flag=value` is passed through unchanged.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `argv` with every `--flag value` (and `-f value`) of a string flag rewritten as
 * `--flag=value`, so the value is never read as a flag. Arguments after `--` are left alone.
 */
export function joinFlagValues(argv: readonly string[], options: Options): string[] {
  const takesValue = new Set<string>();
  const shortToLong = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(name);
    if (o.short) shortToLong.set(o.short, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = arg.startsWith('--') ? arg.slice(2) : undefined;
    const name =
      long !== undefined && takesValue.has(long)
        ? long
        : /^-[^-]$/.test(arg)
          ? shortToLong.get(arg.slice(1))
          : undefined;
    if (name !== undefined && i + 1 < argv.length) {
      out.push(`--${name}=${argv[++i]!}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** parseArgs (strict) over `argv`, where a string flag's value may start with `-`. */
export function parseFlags<T extends { options: Options; allowPositionals?: boolean }>(
  argv: readonly string[],
  config: T,
): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> {
  return parseArgs({ ...config, args: joinFlagValues(argv, config.options), strict: true });
}

/** A flag that takes a value (`--flag value`, `--flag=value`). */
export const STRING = { type: 'string' } as const;
/** A flag without a value, false unless given. */
export const FLAG = { type: 'boolean', default: false } as const;
