/**
 * The settings that change how the server reads SQL text, and the values that keep its reading
 * the gateway's. The gateway parses every statement as the server does with UTF-8,
 * `standard_conforming_strings = on` and `backslash_quote = safe_encoding` (libpg_query's fixed
 * defaults): with standard_conforming_strings off, `'a\' , '` is one string to the server and
 * two to the gateway; with a client encoding such as SJIS or GBK, a multibyte character can end
 * in the byte of a backslash or quote. A session must not move the server off these values by
 * any route (SET, set_config, pg_settings, startup options); see docs/policy.md.
 *
 * Sources: PostgreSQL src/backend/parser/scan.l (the only settings the lexer reads are
 * standard_conforming_strings, backslash_quote and escape_string_warning, which only warns), and
 * client encoding conversion before the lexer (src/backend/tcop/postgres.c, pg_client_to_server).
 */

/** Names (lower case; the server compares setting names case-insensitively). */
export const READING_SETTINGS = new Set([
  'standard_conforming_strings',
  'client_encoding',
  'backslash_quote',
]);

/**
 * Why setting `name` to `value` would change how the server reads SQL, or undefined when it
 * would not (another setting, or a value that keeps the gateway's reading). `value` undefined
 * means not known to the gateway (RESET, DEFAULT, an expression): refused for these names.
 */
export function readingSettingRefusal(name: string, value: string | undefined): string | undefined {
  const lower = name.toLowerCase();
  if (!READING_SETTINGS.has(lower)) return undefined;
  if (value !== undefined && keepsReading(lower, value)) return undefined;
  const shown = value === undefined ? 'a value Postern cannot see' : JSON.stringify(value);
  return (
    `statement refused: setting ${lower} to ${shown} would change how the server reads SQL; ` +
    'Postern checks statements as the server reads them with standard_conforming_strings on and client_encoding UTF8'
  );
}

function keepsReading(name: string, value: string): boolean {
  switch (name) {
    case 'standard_conforming_strings':
      return parseBool(value) === true;
    case 'client_encoding':
      return isUtf8(value);
    case 'backslash_quote': {
      // An enum (case-insensitive names). `on` and `safe_encoding` read alike in UTF-8.
      const v = value.toLowerCase();
      return v === 'safe_encoding' || ['on', 'true', 'yes', '1'].includes(v);
    }
    default:
      return false;
  }
}

/**
 * An encoding name the server reads as UTF8: it drops every character but letters and digits
 * and lower-cases the rest before looking it up (src/common/encnames.c, clean_encoding_name);
 * `utf8` and `unicode` name UTF8.
 */
export function isUtf8(value: string): boolean {
  const clean = value.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  return clean === 'utf8' || clean === 'unicode';
}

/**
 * The server's boolean parse (src/backend/utils/adt/bool.c, parse_bool_with_len): unique
 * prefixes of true/false/yes/no, on/off (at least two letters), 1/0; case-insensitive, no
 * trimming. Undefined when the server would refuse the value.
 */
export function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v.length === 0) return undefined;
  const prefixOf = (word: string) => v.length <= word.length && word.startsWith(v);
  switch (v[0]) {
    case 't':
      return prefixOf('true') ? true : undefined;
    case 'f':
      return prefixOf('false') ? false : undefined;
    case 'y':
      return prefixOf('yes') ? true : undefined;
    case 'n':
      return prefixOf('no') ? false : undefined;
    case 'o':
      if (v === 'on') return true;
      return v.length >= 2 && prefixOf('off') ? false : undefined;
    case '1':
      return v === '1' ? true : undefined;
    case '0':
      return v === '0' ? false : undefined;
    default:
      return undefined;
  }
}
