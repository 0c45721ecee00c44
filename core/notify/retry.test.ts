import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, MAX_DELAY_MS, nextStep, retryDelayMs } from './retry.ts';

describe('webhook retry schedule', () => {
  it('doubles the delay from 2 s and caps it at 5 minutes', () => {
    expect([1, 2, 3, 4, 8, 9].map(retryDelayMs)).toEqual([2000, 4000, 8000, 16000, 256000, MAX_DELAY_MS]);
    expect(retryDelayMs(30)).toBe(MAX_DELAY_MS);
  });

  it('stops on any 2xx', () => {
    expect(nextStep(1, { status: 200 })).toEqual({ kind: 'delivered' });
    expect(nextStep(MAX_ATTEMPTS, { status: 204 })).toEqual({ kind: 'delivered' });
  });

  it('retries network errors, 5xx and 429', () => {
    expect(nextStep(1, { error: 'connection refused' })).toEqual({ kind: 'retry', delayMs: 2000 });
    expect(nextStep(2, { status: 503 })).toEqual({ kind: 'retry', delayMs: 4000 });
    expect(nextStep(3, { status: 429 })).toEqual({ kind: 'retry', delayMs: 8000 });
  });

  it('does not retry other 4xx or a redirect', () => {
    for (const status of [400, 401, 403, 404, 410, 301, 302])
      expect(nextStep(1, { status })).toEqual({ kind: 'give_up', reason: 'rejected' });
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts`, () => {
    expect(nextStep(MAX_ATTEMPTS - 1, { status: 500 }).kind).toBe('retry');
    expect(nextStep(MAX_ATTEMPTS, { status: 500 })).toEqual({
      kind: 'give_up',
      reason: 'attempts_exhausted',
    });
    const total = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1)).reduce(
      (a, b) => a + b,
    );
    expect(total).toBeLessThan(15 * 60_000);
  });
});
