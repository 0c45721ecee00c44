// Child-process entry for measureEnginesIsolated: prints one JSON line.
import { measureHostile } from './hostile.ts';
import { measureClassification, measureMasking } from './micro.ts';

const maskMb = Number(process.argv[2] ?? '100');
const classification = await measureClassification();
// Before (legacy-mask/) and after, alternating, best of two each: the machine's load varies
// during a run, and both sides see the same.
type Masking = Awaited<ReturnType<typeof measureMasking>>;
const best = (a: Masking, b: Masking) => (a.mbPerSecond >= b.mbPerSecond ? a : b);
let legacyMaskingColumns: Masking | undefined;
let maskingColumns: Masking | undefined;
let legacyMaskingFreeText: Masking | undefined;
let maskingFreeText: Masking | undefined;
for (let round = 0; round < 2; round++) {
  const lc = await measureMasking(maskMb / 2, false, true);
  const c = await measureMasking(maskMb / 2, false);
  const lf = await measureMasking(maskMb / 2, true, true);
  const f = await measureMasking(maskMb / 2, true);
  legacyMaskingColumns = legacyMaskingColumns ? best(legacyMaskingColumns, lc) : lc;
  maskingColumns = maskingColumns ? best(maskingColumns, c) : c;
  legacyMaskingFreeText = legacyMaskingFreeText ? best(legacyMaskingFreeText, lf) : lf;
  maskingFreeText = maskingFreeText ? best(maskingFreeText, f) : f;
}
const hostile = await measureHostile();
process.stdout.write(
  JSON.stringify({
    classification,
    maskingColumns,
    maskingFreeText,
    legacyMaskingColumns,
    legacyMaskingFreeText,
    hostile,
  }) + '\n',
);
