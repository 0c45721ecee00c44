/**
 * A word a POSIX shell reads back as exactly `value` (POSIX.1-2017 XCU 2.2.2: inside single
 * quotes every character is literal, so only a single quote itself needs closing, escaping and
 * reopening). Plain words stay unquoted so printed commands remain easy to read.
 */
export function shQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
