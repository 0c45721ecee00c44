// Child-process entry for measureEnginesIsolated: prints one JSON line.
import { measureHostile } from './hostile.ts';
import { measureClassification, measureMasking } from './micro.ts';

const maskMb = Number(process.argv[2] ?? '100');
const classification = await measureClassification();
const maskingColumns = await measureMasking(maskMb, false);
const maskingFreeText = await measureMasking(maskMb, true);
const hostile = await measureHostile();
process.stdout.write(JSON.stringify({ classification, maskingColumns, maskingFreeText, hostile }) + '\n');
