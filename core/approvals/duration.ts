/** Durations as people write them in policies and on the command line: `30s`, `15m`, `2h`, `1d`. */
import { PosternError } from '../errors.ts';

/** The longest access grant the edge gives (the CLI checks it before asking). */
export const MAX_GRANT_SECONDS = 7 * 86_400;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in `text`, or an error naming the accepted forms. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m) {
    throw new PosternError(
      'INVALID_INPUT',
      `${what} "${text.slice(0, 40)}" is not a duration like 30s, 15m, 2h or 1d`,
    );
  }
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  if (seconds <= 0) throw new PosternError('INVALID_INPUT', `${what} must be longer than zero`);
  return seconds;
}

/** `@approval_timeout` of a policy: a bad or absent value falls back to 15 minutes, capped at a day. */
export function approvalTimeoutSeconds(annotation: string | undefined): number {
  try {
    return Math.min(parseDuration(annotation ?? '15m'), 86_400);
  } catch {
    return 900;
  }
}
