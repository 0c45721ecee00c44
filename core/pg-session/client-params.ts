/**
 * Which StartupMessage parameters of the client reach the target. The client's `user` and
 * `database` never do: the connection decides both, and the token is the identity. `options`
 * is dropped because it can set any GUC at startup (e.g. `-c role=...`), bypassing what the
 * gateway sees; options that would change how the server reads SQL are refused with a FATAL
 * that says so, so a client never believes it got them; `replication` is refused outright.
 * `client_encoding` is always UTF8: the policy check must read SQL exactly as the server does,
 * and client encodings such as SJIS or GBK have multibyte characters whose second byte is a
 * quote or backslash.
 */
import { PosternError } from '../errors.ts';
import { readingSettingRefusal } from '../sql/reading-settings.ts';
import { optionSettings } from './startup-options.ts';

const FORWARDED = new Set([
  'application_name',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
]);

export function upstreamStartupParams(
  client: Record<string, string>,
  injected: { user: string; database: string },
): Record<string, string> {
  if (
    client['replication'] !== undefined &&
    client['replication'] !== 'false' &&
    client['replication'] !== '0'
  ) {
    throw new PosternError('FORBIDDEN', 'replication connections are not supported through Postern');
  }
  for (const [key, value] of Object.entries(client)) {
    if (key.toLowerCase() !== 'options') continue;
    for (const setting of optionSettings(value)) {
      const why = readingSettingRefusal(setting.name, setting.value);
      if (why) {
        throw new PosternError(
          'FORBIDDEN',
          `startup option ${setting.name}=${setting.value ?? ''} refused: ${why.replace(/^statement refused: /, '')}`,
        );
      }
    }
  }
  const params: Record<string, string> = {
    user: injected.user,
    database: injected.database,
    client_encoding: 'UTF8',
  };
  for (const [key, value] of Object.entries(client)) {
    const lower = key.toLowerCase();
    if (FORWARDED.has(lower) && value.length <= 256) params[key] = value;
  }
  return params;
}
