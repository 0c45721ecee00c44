/** What every hibernation case waits for (test/e2e/hibernation.test.ts and its *.cases.ts). */
import { IDLE_MS } from '../../durable-objects/session/session-hibernation.ts';
import type { TestStack } from './harness.ts';

/** The record's write, then workerd's 10 s inactivity eviction, with room for a loaded machine. */
export const ASLEEP_MS = IDLE_MS + 20_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many times the edge has taken a session back from storage so far. */
export const wakes = (stack: TestStack) => stack.edgeLogs.filter((l) => l.includes('"session woken"')).length;
