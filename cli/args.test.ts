import { describe, expect, it } from 'vitest';
import { joinFlagValues, parseFlags } from './args.ts';
import * as access from './commands/access.ts';
import * as approvals from './commands/approvals.ts';
import * as bench from './commands/bench.ts';
import * as connect from './commands/connect.ts';
import * as connector from './commands/connector.ts';
import * as connections from './commands/connections.ts';
import * as dev from './commands/dev.ts';
import * as kubeConfig from './commands/kube-config.ts';
import * as kubeCredential from './commands/kube-credential.ts';
import * as sessions from './commands/sessions.ts';
import * as shapes from './commands/shapes.ts';
import * as ssh from './commands/ssh.ts';
import * as sshConfig from './commands/ssh-config.ts';
import * as sshProxy from './commands/ssh-proxy.ts';
import * as token from './commands/token.ts';

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>;

// Every command and subcommand, with the flags it declares and its help text.
const COMMANDS: Array<[string, Options, string]> = [
  ['connect', connect.options, connect.help],
  ['token', token.options, token.help],
  ['connector', connector.options, connector.help],
  ['sessions', sessions.options, sessions.help],
  ['dev', dev.options, dev.help],
  ['bench', bench.options, bench.help],
  ['ssh', ssh.options, ssh.help],
  ['ssh-config', sshConfig.options, sshConfig.help],
  ['ssh-proxy', sshProxy.options, sshProxy.help],
  ['kube-config', kubeConfig.options, kubeConfig.help],
  ['kube-credential', kubeCredential.options, kubeCredential.help],
  ...['list', 'show', 'approve', 'deny'].map((s): [string, Options, string] => [
    `approvals ${s}`,
    approvals.optionsFor(s),
    approvals.help,
  ]),
  ...['request', 'list', 'revoke'].map((s): [string, Options, string] => [
    `access ${s}`,
    access.optionsFor(s),
    access.help,
  ]),
  ...['list', 'show', 'create'].map((s): [string, Options, string] => [
    `connections ${s}`,
    connections.optionsFor(s),
    connections.help,
  ]),
  ...['list', 'revoke'].map((s): [string, Options, string] => [
    `shapes ${s}`,
    shapes.optionsFor(s),
    shapes.help,
  ]),
];

// Values parseArgs alone refuses or misreads: a generated secret starting with '-', one that
// looks like a flag of the same command, an '=' inside, an empty one.
const HOSTILE_VALUES = ['-Zq3_x-9', '--json', '-h', 'a=b=c', '', ' spaced value '];

describe('every command parses --flag value, --flag=value and values starting with "-"', () => {
  for (const [name, options, help] of COMMANDS) {
    const strings = Object.keys(options).filter((k) => options[k]!.type === 'string');
    it(`${name}: ${strings.map((s) => `--${s}`).join(' ')}`, () => {
      expect(strings.length).toBeGreaterThan(0);
      for (const flag of strings) {
        for (const value of HOSTILE_VALUES) {
          for (const argv of [[`--${flag}`, value], [`--${flag}=${value}`]]) {
            const { values } = parseFlags(argv, { options });
            expect((values as Record<string, unknown>)[flag], `${argv.join(' ')}`).toBe(value);
            // A value that looks like a flag stays a value: --json/-h are not switched on.
            expect((values as Record<string, unknown>)['json'] ?? false).toBe(false);
            expect((values as Record<string, unknown>)['help'] ?? false).toBe(false);
          }
        }
      }
    });
    it(`${name}: its help names every flag it accepts`, () => {
      for (const flag of Object.keys(options)) expect(help, `--${flag}`).toContain(`--${flag}`);
    });
  }
});

describe('joinFlagValues', () => {
  const options = {
    edge: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
  } as const;

  it('joins a string flag with the next argument, leaves switches and positionals', () => {
    expect(joinFlagValues(['list', '--edge', '-x', '--json', 'pos'], options)).toEqual([
      'list',
      '--edge=-x',
      '--json',
      'pos',
    ]);
  });

  it('joins a short string flag under its long name', () => {
    expect(joinFlagValues(['-o', '-dir'], options)).toEqual(['--out=-dir']);
  });

  it('leaves --flag=value, a trailing flag without a value, and everything after --', () => {
    expect(joinFlagValues(['--edge=-a', '--', '--edge', '-b'], options)).toEqual([
      '--edge=-a',
      '--',
      '--edge',
      '-b',
    ]);
    expect(joinFlagValues(['--edge'], options)).toEqual(['--edge']);
  });

  it('still refuses unknown flags and a string flag without a value', () => {
    expect(() => parseFlags(['--nope'], { options })).toThrow(/Unknown option '--nope'/);
    expect(() => parseFlags(['--edge'], { options })).toThrow(/argument missing/);
  });
});
