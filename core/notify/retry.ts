/**
 * When to try a webhook delivery again: a pure decision on the attempt number and what the
 * receiver answered (style.md #3); the NotifyDO does the waiting.
 */

/** Attempts in all, the first included; with the delays below the last one is ~14 min after the first. */
export const MAX_ATTEMPTS = 10;
/** Cap on one delay: 5 minutes. */
export const MAX_DELAY_MS = 5 * 60_000;

/** What one attempt came to: an HTTP status, or no answer at all (DNS, connect, TLS, timeout). */
export type AttemptOutcome = { status: number } | { error: string };

export type NextStep =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'give_up'; reason: 'rejected' | 'attempts_exhausted' };

/** Delay after failed attempt `attempt` (1-based): 2^attempt seconds, at most 5 minutes. */
export function retryDelayMs(attempt: number): number {
  return Math.min(2 ** Math.max(1, attempt) * 1000, MAX_DELAY_MS);
}

/**
 * Network errors, 5xx and 429 (RFC 6585 4: "too many requests") are worth another try; any
 * other answer (a 3xx: redirects are not followed, a 4xx: the receiver refuses this request)
 * would be the same next time.
 */
export function isRetryable(outcome: AttemptOutcome): boolean {
  if ('error' in outcome) return true;
  return outcome.status >= 500 || outcome.status === 429;
}

/** What to do after attempt `attempt` (1-based) ended with `outcome`. */
export function nextStep(attempt: number, outcome: AttemptOutcome): NextStep {
  if ('status' in outcome && outcome.status >= 200 && outcome.status < 300) return { kind: 'delivered' };
  if (!isRetryable(outcome)) return { kind: 'give_up', reason: 'rejected' };
  if (attempt >= MAX_ATTEMPTS) return { kind: 'give_up', reason: 'attempts_exhausted' };
  return { kind: 'retry', delayMs: retryDelayMs(attempt) };
}
