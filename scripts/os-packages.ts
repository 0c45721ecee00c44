/**
 * pre-step of `npm test` and `.ci/run`: makes sure the OS programs the tests run are installed
 * (the list and the decision: os-packages-plan.ts). As root with apt-get it installs what is
 * missing; otherwise it stops at once with the exact command to run, so no test is skipped or
 * fails later for a missing program.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { NEEDS, pgMajor, planOsPackages, resolveNeed, type Facts, type Probe } from './os-packages-plan.ts';

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function met(probe: Probe): boolean {
  if ('command' in probe) return onPath(probe.command);
  if ('file' in probe) return existsSync(probe.file);
  if ('python' in probe)
    return spawnSync(probe.python, ['-c', `import ${probe.module}`], { stdio: 'ignore' }).status === 0;
  return false; // pgServerForPgDump without a pg_dump: installed with the client
}

function probeMachine(): Facts {
  const pgDump = onPath('pg_dump') ? spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }) : undefined;
  const pgDumpMajor = pgDump?.status === 0 ? pgMajor(pgDump.stdout) : null;
  return {
    met: new Set(NEEDS.filter((n) => met(resolveNeed(n, pgDumpMajor).probe)).map((n) => n.what)),
    pgDumpMajor,
    root: process.getuid?.() === 0,
    aptGet: onPath('apt-get'),
  };
}

const plan = planOsPackages(probeMachine());
if (plan.action === 'stop') {
  process.stderr.write(plan.say + '\n');
  process.exit(1);
}
if (plan.action === 'install') {
  process.stderr.write(plan.say + '\n');
  for (const cmd of plan.commands) {
    process.stderr.write(`postern: ${cmd.join(' ')}\n`);
    const r = spawnSync(cmd[0]!, cmd.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) {
      process.stderr.write(
        `postern: ${cmd.join(' ')} failed (exit ${r.status ?? r.signal}); see the output above.\n`,
      );
      process.exit(1);
    }
  }
  // A package that installed but did not provide what was probed (another layout, another
  // major version) must stop the run here rather than fail tests later.
  const after = planOsPackages({ ...probeMachine(), root: false });
  if (after.action !== 'none') {
    process.stderr.write(
      `postern: still missing after apt-get:\n${after.missing.map((n) => `  - ${n.what}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  process.stderr.write('postern: OS packages installed.\n');
}
