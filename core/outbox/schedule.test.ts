import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  afterSuccess,
  AUDIT_BATCH_DELAY_MS,
  BATCH_DELAY_MS,
  IDLE,
  mayShip,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  retryDelayMs,
  shipAt,
} from './schedule.ts';

describe('outbox retry delay', () => {
  it('doubles from the base, with half of each delay random', () => {
    expect(retryDelayMs(1, 0)).toBe(RETRY_BASE_MS / 2);
    expect(retryDelayMs(1, 0.999999)).toBe(RETRY_BASE_MS);
    expect(retryDelayMs(2, 0)).toBe(RETRY_BASE_MS);
    expect(retryDelayMs(3, 0.5)).toBe(1_500);
    expect(retryDelayMs(4, 0)).toBe(2_000);
  });

  it('never exceeds the cap, and never drops below half of it once capped, however many failures', () => {
    for (const attempts of [8, 9, 20, 1_000, Number.MAX_SAFE_INTEGER]) {
      for (const r of [0, 0.3, 0.999999]) {
        const d = retryDelayMs(attempts, r);
        expect(d).toBeLessThanOrEqual(RETRY_CAP_MS);
        expect(d).toBeGreaterThanOrEqual(RETRY_CAP_MS / 2);
      }
    }
  });

  it('stays in bounds for a random draw out of [0, 1)', () => {
    expect(retryDelayMs(1, -5)).toBe(RETRY_BASE_MS / 2);
    expect(retryDelayMs(1, 7)).toBe(RETRY_BASE_MS);
    expect(retryDelayMs(0, 0)).toBe(RETRY_BASE_MS / 2);
  });

  it('spreads outboxes that failed together over half the delay', () => {
    const delays = new Set(Array.from({ length: 100 }, (_, i) => retryDelayMs(10, i / 100)));
    expect(Math.min(...delays)).toBe(RETRY_CAP_MS / 2);
    expect(Math.max(...delays)).toBeGreaterThan(RETRY_CAP_MS * 0.99);
    expect(delays.size).toBe(100);
  });
});

describe('outbox schedule', () => {
  it('counts failures in a row and forgets them after a success', () => {
    const once = afterFailure(IDLE, 10_000, 0);
    expect(once).toEqual({ attempts: 1, retryAt: 10_000 + RETRY_BASE_MS / 2 });
    const twice = afterFailure(once, 20_000, 0);
    expect(twice).toEqual({ attempts: 2, retryAt: 20_000 + RETRY_BASE_MS });
    expect(afterSuccess()).toEqual(IDLE);
  });

  it('does not write while backing off, and writes once the delay has passed', () => {
    const s = afterFailure(IDLE, 0, 0.5);
    expect(mayShip(IDLE, 0)).toBe(true);
    expect(mayShip(s, s.retryAt! - 1)).toBe(false);
    expect(mayShip(s, s.retryAt!)).toBe(true);
  });

  it('ships after the batch delay, at once when urgent, and never before a pending retry', () => {
    expect(shipAt(IDLE, 1_000, false)).toBe(1_000 + BATCH_DELAY_MS);
    expect(shipAt(IDLE, 1_000, true)).toBe(1_000);
    expect(shipAt(IDLE, 1_000, false, AUDIT_BATCH_DELAY_MS)).toBe(1_000 + AUDIT_BATCH_DELAY_MS);
    expect(shipAt({ attempts: 1, retryAt: 2_000 }, 1_000, false, AUDIT_BATCH_DELAY_MS)).toBe(
      1_000 + AUDIT_BATCH_DELAY_MS,
    );
    const backingOff = { attempts: 6, retryAt: 50_000 };
    expect(shipAt(backingOff, 1_000, false)).toBe(50_000);
    expect(shipAt(backingOff, 1_000, true)).toBe(50_000);
    expect(shipAt(backingOff, 60_000, true)).toBe(60_000);
  });
});
