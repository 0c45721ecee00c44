/**
 * The detections of one value, as the masker applies them: left to right and disjoint. The
 * detector groups (detectors.ts) each find their own, so two can overlap: one inside another (a
 * phone number inside a JWT) adds nothing, and one that starts inside another and runs past it
 * keeps the part past it. A greedy match can take the start of the value glued to it (a JWT's
 * signature takes `-----BEGIN` for base64url); dropping the later one would send the rest of it,
 * a private key's body, in clear. Every byte some detection covers is masked.
 */
import type { Detection } from './detectors.ts';

/** `found` sorted by start (the longer of two that start together) and made disjoint, in place. */
export function disjoint(found: Detection[]): Detection[] {
  if (found.length < 2) return found;
  // In place: a value holds a handful at most, and an insertion sort with no comparator call
  // costs a third of Array#sort here; past a handful it would be quadratic (each group's run is
  // sorted, but one run can follow all of another's).
  if (found.length > 32) found.sort(byStartThenLongest);
  else insertionSort(found);
  let n = 0;
  for (const d of found) {
    const last = n === 0 ? undefined : found[n - 1]!;
    if (last === undefined || d.start >= last.end) found[n++] = d;
    else if (d.end > last.end) found[n++] = { kind: d.kind, start: last.end, end: d.end };
  }
  found.length = n;
  return found;
}

const byStartThenLongest = (a: Detection, b: Detection) => a.start - b.start || b.end - a.end;

function insertionSort(found: Detection[]): void {
  for (let a = 1; a < found.length; a++) {
    const d = found[a]!;
    let b = a - 1;
    for (; b >= 0; b--) {
      const e = found[b]!;
      if (e.start < d.start || (e.start === d.start && e.end >= d.end)) break;
      found[b + 1] = e;
    }
    found[b + 1] = d;
  }
}
