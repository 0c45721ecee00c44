import { describe, expect, it } from 'vitest';
import { isRefusal } from './refusals.ts';

describe('isRefusal', () => {
  it('counts statements and SSH requests refused, and held requests denied or timed out', () => {
    expect(isRefusal('statement', 'deny')).toBe(true);
    expect(isRefusal('statement', 'unsafe')).toBe(true);
    expect(isRefusal('statement', 'unparsable')).toBe(true);
    expect(isRefusal('ssh_exec', 'deny')).toBe(true);
    expect(isRefusal('approval_decided', 'denied')).toBe(true);
    expect(isRefusal('approval_decided', 'expired')).toBe(true);
  });

  it('does not count what ran, what waits, a withdrawn request, or a deny vote (its decision counts)', () => {
    expect(isRefusal('statement', 'allow')).toBe(false);
    expect(isRefusal('statement', 'approval')).toBe(false);
    expect(isRefusal('approval_decided', 'approved')).toBe(false);
    expect(isRefusal('approval_decided', 'cancelled')).toBe(false);
    expect(isRefusal('approval_vote', 'deny')).toBe(false);
    expect(isRefusal('session_open', null)).toBe(false);
  });
});
