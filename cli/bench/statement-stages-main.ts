// `node --import tsx cli/bench/statement-stages-main.ts [transactions] [--json] [--only MODE]
// [--no-stages]`: the SessionDO's per-statement stages alone (statement-stages.ts).
import { measureStatementStages, stagesTable, type StageMode } from './statement-stages.ts';

const args = process.argv.slice(2);
const only = args.includes('--only') ? [args[args.indexOf('--only') + 1] as StageMode] : undefined;
const r = await measureStatementStages(Number(args.find((a) => /^\d+$/.test(a)) ?? 20_000), {
  ...(only ? { only } : {}),
  stages: !args.includes('--no-stages'),
});
process.stdout.write(args.includes('--json') ? JSON.stringify(r) + '\n' : stagesTable(r));
