/**
 * `postern bench` (npm run bench): direct vs through the full path, side by side in one run,
 * on the same machine and the same Postgres. The edge runs in Miniflare directly.
 */
import { parseFlags } from '../args.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackToken, startStack, type Stack } from '../dev/stack.ts';
import { Listeners } from '../bench/listener.ts';
import { measurePostgres, postgresTable } from '../bench/postgres.ts';
import { measureSsh, sshTable } from '../bench/ssh.ts';
import { kubeTable, measureKube } from '../bench/kube.ts';

export const help = `Usage: postern bench [--duration S] [--clients N] [--setup-samples N] [--out DIR] [--json]

Measures Postern against a direct connection, in one run on this machine:
  1. pgbench -S (select-only), N clients, S seconds: TPS direct vs through the full path, and the ratio;
     also through three plain Node relays shaped like Postern's hops (TCP→WebSocket,
     WebSocket→WebSocket, WebSocket→TCP: the transport alone), with the CPU per transaction of
     each process on both paths (sampled from /proc; the relays' at Postern's rate, pgbench -R)
  2. per-query latency at 1 client: p50/p99 direct vs through the path, and the added p50
  3. session setup: new connection to ReadyForQuery (token already fetched), p50/p99
  4. pgbench -S TPS with the demo policy and masking on vs off (an allow-list connection)
  5. policy engine cost per statement (uncached, cached) and masking engine MB/s
  6. hostile input one session can send (split frames, detector and redaction worst cases): ms each,
     and where a pgbench -S statement's CPU goes inside the SessionDO (cli/bench/statement-stages.ts)
  7. a 50 MB bytea read back as text (psql): direct vs via Postern, and the ratio
  8. pgbench TPC-B (default script) in -M prepared: TPS direct vs via Postern, and the ratio
  9. SSH: scp of a file both ways (MB/s, ratio) and connect + exec latency (ssh host true),
     direct to the demo sshd vs through Postern, with each hop's CPU (needs openssh-server)
 10. Kubernetes, against the demo cluster (a stand-in API server, test/kube/): kubectl get pods in
     a namespace of 100 pods, p50/p99 of the request (as kubectl -v=6 logs it) and of the whole
     command, direct vs through Postern; a masked Secret list: Postern's masker alone (MB/s) and
     a list of 2000 Secrets read direct vs through Postern (MB/s; needs kubectl)
Starts its own stack (Postgres, OpenID provider, edge in Miniflare, connector) in a temp dir.
Prints a table, then issue 13's goal table (measure | now | goal | met/missed), and writes JSON
(with "goals" and "cpuPerTxnUs") to --out (default bench-results/).

Options:
  --duration S        pgbench seconds per throughput run (default 15)
  --clients N         pgbench clients for the throughput run (default 4)
  --setup-samples N   new sessions to time (default 200)
  --mask-mb N         megabytes of result rows per masking measurement, split over two rounds (default 100)
  --ssh-mb N          megabytes each scp moves (default 100)
  --ssh-samples N     connect + exec samples per path (default 20)
  --kube-samples N    kubectl get pods samples per path (default 30)
  --only ROWS         postgres, ssh or kube: only those rows (the stack starts either way)
  --out DIR           where to write the JSON (default bench-results)
  --json              print only the JSON result
  -h, --help          this help

Example:
  npm run bench                          # the full run (about 2 minutes)
  npx postern bench --duration 5 --json  # a quick one for scripts
  npx postern bench --only ssh           # the SSH rows alone
  npx postern bench --only kube          # the Kubernetes rows alone
`;

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** The flags of this command (cli/args.ts parses them; cli/args.test.ts checks them). */
export const options = {
  duration: { type: 'string', default: '15' },
  clients: { type: 'string', default: '4' },
  'setup-samples': { type: 'string', default: '200' },
  'mask-mb': { type: 'string', default: '100' },
  'ssh-mb': { type: 'string', default: '100' },
  'ssh-samples': { type: 'string', default: '20' },
  'kube-samples': { type: 'string', default: '30' },
  only: { type: 'string' },
  out: { type: 'string', default: join(ROOT, 'bench-results') },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { options });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const say = (m: string) => !values.json && process.stderr.write(`bench: ${m}\n`);
  const only = values.only;
  if (only !== undefined && only !== 'postgres' && only !== 'ssh' && only !== 'kube')
    throw new Error(`--only ${only}: say postgres, ssh or kube`);
  const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
  const maskMb = Number(values['mask-mb']);
  let stack: Stack | undefined;
  let listeners: Listeners | undefined;
  try {
    say('starting the stack…');
    stack = await startStack({
      root: ROOT,
      stateDir: join(dir, 'state'),
      reuse: false,
      log: say,
      connector: 'process',
      ssh: only === undefined || only === 'ssh',
      kube: only === undefined || only === 'kube',
    });
    const token = await stackToken(stack);
    listeners = new Listeners(ROOT, stack, token);
    const postgres =
      only === undefined || only === 'postgres'
        ? await measurePostgres(stack, {
            dir,
            clients: Number(values.clients),
            duration: Number(values.duration),
            samples: Number(values['setup-samples']),
            maskMb,
            root: ROOT,
            say,
            listen: listeners.open,
          })
        : undefined;
    const ssh =
      only === undefined || only === 'ssh'
        ? await measureSsh(stack, await stackToken(stack), {
            dir,
            megabytes: Number(values['ssh-mb']),
            samples: Number(values['ssh-samples']),
            say,
          })
        : undefined;
    const kube =
      only === undefined || only === 'kube'
        ? await measureKube(stack, await stackToken(stack), {
            dir,
            samples: Number(values['kube-samples']),
            maskMb,
            say,
          })
        : undefined;
    const result = { date: new Date().toISOString(), machine: machine(), ...postgres, ssh, kube };
    const file = writeResult(values.out, result);
    if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
    else
      process.stdout.write(
        `${postgres ? postgresTable(postgres, result.machine.cpus) : ''}${ssh ? sshTable(ssh) : ''}${kube ? kubeTable(kube) : ''}\nJSON: ${file}\n`,
      );
    return 0;
  } finally {
    listeners?.stopAll();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  return { cpus: cpus().length, node: process.version, loadAverage: loadavg() };
}

function writeResult(out: string, result: { date: string }): string {
  mkdirSync(out, { recursive: true });
  const file = join(out, `bench-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  return file;
}
