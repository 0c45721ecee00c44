// Child-process entry for measureEnginesIsolated: prints one JSON line.
import { measureClassification, measureMasking } from './micro.ts';

const maskMb = Number(process.argv[2] ?? '100');
const classification = await measureClassification();
const maskingColumns = await measureMasking(maskMb, false);
const maskingFreeText = await measureMasking(maskMb, true);
process.stdout.write(JSON.stringify({ classification, maskingColumns, maskingFreeText }) + '\n');
