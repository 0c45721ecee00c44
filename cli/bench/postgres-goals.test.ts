import { describe, expect, it } from 'vitest';
import { cpuPerTxnUs, pgHop, postgresGoals, type PostgresGoalInput } from './postgres-goals.ts';

describe('pgHop', () => {
  it('tells the connect CLI from the connector, and each relay by its role', () => {
    const node = '/usr/bin/node /repo/cli/bin/postern.mjs';
    expect(pgHop('node', `${node} connect demo --edge http://127.0.0.1:1 --port 2 --json`)).toBe(
      'connect CLI',
    );
    expect(pgHop('node', `${node} connector --edge http://127.0.0.1:1 --allow x`)).toBe('connector');
    for (const role of ['tcp-ws', 'ws-ws', 'ws-tcp'])
      expect(pgHop('node', `/usr/bin/node --import tsx /repo/cli/bench/relay-main.ts ${role} 5432 `)).toBe(
        `relay ${role}`,
      );
    expect(pgHop('workerd', 'workerd serve --entry=127.0.0.1:1')).toBe('workerd');
    expect(pgHop('postgres', 'postgres: demo_app demo 127.0.0.1')).toBe('postgres');
  });
});

describe('cpuPerTxnUs', () => {
  it('divides each process CPU by the transactions run, and leaves out idle ones', () => {
    expect(cpuPerTxnUs({ workerd: 500, connector: 0 }, 10_000)).toEqual({ workerd: 50 });
    expect(cpuPerTxnUs({ workerd: 500 }, 0)).toEqual({});
  });
});

describe('postgresGoals', () => {
  const input: PostgresGoalInput = {
    clients: 4,
    directTps: 10_000,
    relaysTps: 4_000,
    policyTps: 1_000,
    posternCpuUs: { workerd: 300, connector: 110, 'connect CLI': 100 },
    relaysCpuUs: { 'relay tcp-ws': 60, 'relay ws-ws': 70, 'relay ws-tcp': 65 },
    addedP50Ms: 0.2,
    setupViaP50Ms: 20,
    maskingColumnsMbps: 160,
    maskingFreeTextMbps: 100,
    root: '/nonexistent',
  };
  const rows = postgresGoals(input);
  const row = (prefix: string) => rows.find((r) => r.measure.startsWith(prefix))!;

  it('judges each measured row against issue 13', () => {
    expect(row('pgbench -S c4, Postern (demo policy) / direct')).toMatchObject({
      value: 0.1,
      status: 'missed',
    });
    expect(row('pgbench -S c4, Postern (demo policy) / 3')).toMatchObject({ value: 0.25, status: 'missed' });
    expect(row('CPU per txn, workerd')).toMatchObject({
      status: 'missed',
      now: '300 us (relay ws-ws at this rate: 70 us)',
    });
    expect(row('added latency')).toMatchObject({ status: 'met' });
    expect(row('session setup')).toMatchObject({ status: 'missed' });
    expect(row('masking, column')).toMatchObject({ status: 'met' });
    expect(row('masking, free text')).toMatchObject({ status: 'missed' });
  });

  it('adds the three hops beside the three relays, and points at the scale script', () => {
    expect(row('CPU per txn, the three hops')).toMatchObject({
      value: 510,
      now: '510 us (3 relays at this rate: 195 us)',
    });
    expect(row('1,000 sessions').now).toBe('see scripts/scale… (not in this tree)');
  });

  it('never meets a goal whose run produced no number', () => {
    const failed = postgresGoals({ ...input, policyTps: NaN, posternCpuUs: {} });
    expect(failed.find((r) => r.measure.includes('/ direct'))!.status).toBe('not measured');
    expect(failed.find((r) => r.measure === 'CPU per txn, workerd')!.status).toBe('not measured');
  });
});
