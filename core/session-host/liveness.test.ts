import { describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_MS, leaseMs, liveness, MIN_LEASE_MS, renewEvery } from './liveness.ts';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe('liveness', () => {
  it('a session within its lease is live', () => {
    expect(liveness({ startedAt: t(0), endedAt: null, closeReason: null, leaseUntil: t(30) }, t(29))).toEqual(
      {
        state: 'live',
        endedAt: null,
        closeReason: null,
      },
    );
  });

  it('a session past its lease with no end is ended, reason unknown, at the lease end', () => {
    expect(liveness({ startedAt: t(0), endedAt: null, closeReason: null, leaseUntil: t(30) }, t(30))).toEqual(
      {
        state: 'ended',
        endedAt: t(30),
        closeReason: 'unknown',
      },
    );
  });

  it('a session that said goodbye keeps its own end and reason, whatever its lease', () => {
    const s = { startedAt: t(0), endedAt: t(5), closeReason: 'client-closed', leaseUntil: t(60) };
    expect(liveness(s, t(10))).toEqual({ state: 'ended', endedAt: t(5), closeReason: 'client-closed' });
  });

  it('a row without a lease (written before leases) and without an end is ended', () => {
    expect(
      liveness({ startedAt: t(0), endedAt: null, closeReason: null, leaseUntil: null }, t(1)).state,
    ).toBe('ended');
  });
});

describe('lease settings', () => {
  it('defaults, floors and renews three times per lease', () => {
    expect(leaseMs(undefined)).toBe(DEFAULT_LEASE_MS);
    expect(leaseMs('nonsense')).toBe(DEFAULT_LEASE_MS);
    expect(leaseMs('-5')).toBe(DEFAULT_LEASE_MS);
    expect(leaseMs('1')).toBe(MIN_LEASE_MS);
    expect(leaseMs('60')).toBe(60_000);
    expect(renewEvery(60_000)).toBe(20_000);
  });
});
