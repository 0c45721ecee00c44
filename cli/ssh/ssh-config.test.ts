import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configPath,
  configText,
  hostKeyOf,
  mergeKnownHosts,
  proxyCommand,
  sshArgs,
  sshHosts,
  type ProxySpec,
} from './ssh-config.ts';
import { proxyEnv, sshArgv } from '../commands/ssh.ts';

// Real keys from ssh-keygen: the ground truth for what a key line looks like.
const dir = mkdtempSync(join(tmpdir(), 'postern-sshcfg-'));
function realKey(type: string, bits: string): string {
  const f = join(dir, `${type}-${bits}`);
  spawnSync('ssh-keygen', ['-q', '-t', type, '-b', bits, '-N', '', '-C', 'c', '-f', f]);
  const line = readFileSync(`${f}.pub`, 'utf8').trim();
  return line;
}
const ECDSA = realKey('ecdsa', '256');
const RSA = realKey('rsa', '3072');
rmSync(dir, { recursive: true, force: true });
const bare = (line: string) => line.split(' ').slice(0, 2).join(' ');

const SPEC: ProxySpec = {
  proxy: ['/usr/bin/node', '/opt/postern/dist/ssh-proxy.mjs'],
  edge: 'https://edge.example',
};

describe('sshHosts: the connection list from the edge, treated as hostile', () => {
  it('keeps SSH connections with valid keys, without comments, and drops Postgres ones', () => {
    const { hosts, skipped } = sshHosts({
      connections: [
        { name: 'orders', protocol: 'postgres' },
        { name: 'web-1', protocol: 'ssh', ssh: { hostKeys: [ECDSA, RSA, ECDSA] } },
      ],
    });
    expect(skipped).toEqual([]);
    expect(hosts).toEqual([
      { connection: 'web-1', alias: 'web-1.postern', hostKeys: [bare(ECDSA), bare(RSA)] },
    ]);
  });

  it('skips names and keys that could break out of their line', () => {
    const evil = [
      { name: 'a\n  ProxyCommand touch /tmp/pwned', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } },
      { name: 'b c', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } },
      { name: '-oProxyCommand=x', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } },
      { name: 'ok', protocol: 'ssh', ssh: { hostKeys: [`${bare(ECDSA)}\nevil.postern ${bare(ECDSA)}`] } },
      { name: 'typ', protocol: 'ssh', ssh: { hostKeys: ['ssh-dss AAAAB3NzaC1kc3MAAACBAP'] } },
      // the algorithm name inside the blob differs from the one in front of it
      { name: 'mismatch', protocol: 'ssh', ssh: { hostKeys: [`ssh-rsa ${ECDSA.split(' ')[1]}`] } },
      { name: 'none', protocol: 'ssh', ssh: { hostKeys: 'not a list' } },
      { name: 'huge', protocol: 'ssh', ssh: { hostKeys: [`ssh-rsa ${'A'.repeat(10_000)}`] } },
    ];
    const { hosts, skipped } = sshHosts({ connections: evil });
    expect(hosts).toEqual([]);
    expect(skipped).toHaveLength(evil.length);
    const text = configText(hosts, SPEC, '/k');
    expect(text).toBe('');
  });

  it('refuses a listing that is not one', () => {
    expect(() => sshHosts({ error: 'x' })).toThrow(/no connection list/);
    expect(() => sshHosts(null)).toThrow(/no connection list/);
  });

  it('reads a key line as OpenSSH writes it, and nothing else', () => {
    expect(hostKeyOf(`  ${ECDSA}  `)).toBe(bare(ECDSA));
    expect(hostKeyOf(bare(RSA))).toBe(bare(RSA));
    expect(hostKeyOf('ecdsa-sha2-nistp256 !!!!')).toBeNull();
    expect(hostKeyOf(42)).toBeNull();
    expect(hostKeyOf('ecdsa-sha2-nistp256')).toBeNull();
  });
});

describe('the Host block', () => {
  const [host] = sshHosts({
    connections: [{ name: 'web-1', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } }],
  }).hosts;

  it('proxies through the bundled ssh-proxy with the pinned alias and strict checking', () => {
    expect(configText([host!], SPEC, '/home/me/.config/postern/known_hosts', 'deploy')).toBe(
      [
        '# postern: SSH connection "web-1" through https://edge.example',
        'Host web-1.postern',
        '  ProxyCommand /usr/bin/node /opt/postern/dist/ssh-proxy.mjs --edge https://edge.example web-1',
        '  HostKeyAlias web-1.postern',
        '  UserKnownHostsFile /home/me/.config/postern/known_hosts',
        '  StrictHostKeyChecking yes',
        '  UpdateHostKeys no',
        '  User deploy',
        '',
      ].join('\n'),
    );
  });

  it("quotes for the shell, escapes ssh's % tokens, and passes a token file but never a token", () => {
    const spec: ProxySpec = {
      proxy: ['/opt/my node/node', '/p/ssh-proxy.mjs'],
      edge: 'https://edge.example/a%20b',
      tokenFile: "/t/it's",
    };
    expect(proxyCommand(spec, 'web-1')).toBe(
      `'/opt/my node/node' /p/ssh-proxy.mjs --edge https://edge.example/a%%20b --token-file '/t/it'\\''s' web-1`,
    );
    expect(configPath('/a b/%d/known_hosts')).toBe('"/a b/%%d/known_hosts"');
    expect(() => configPath('/a"b')).toThrow(/cannot hold/);
  });

  it('is what `ssh -G` reads back (real OpenSSH parses the options)', () => {
    const spec: ProxySpec = { ...SPEC, proxy: ['/opt/my node/node', '/p/ssh-proxy.mjs'] };
    const r = spawnSync('ssh', ['-G', ...sshArgs(host!, spec, '/a b/known_hosts'), 'web-1.postern'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const got = Object.fromEntries(
      r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    expect(got['proxycommand']).toBe(
      `'/opt/my node/node' /p/ssh-proxy.mjs --edge https://edge.example web-1`,
    );
    expect(got['hostkeyalias']).toBe('web-1.postern');
    expect(got['stricthostkeychecking']).toBe('true');
    // One file whose name holds a space (ssh -G prints it unquoted).
    expect(got['userknownhostsfile']).toBe('/a b/known_hosts');
  });
});

describe('postern ssh arguments', () => {
  const [host] = sshHosts({
    connections: [{ name: 'web-1', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } }],
  }).hosts;

  it('ends ssh options before the host, so a command is never read as an option', () => {
    const argv = sshArgv(host!, SPEC, '/k', {
      login: 'deploy',
      tty: true,
      command: ['-oProxyCommand=x', 'ls'],
    });
    expect(argv.slice(-5)).toEqual(['-t', '--', 'web-1.postern', '-oProxyCommand=x', 'ls']);
    expect(argv.slice(argv.indexOf('-l'), argv.indexOf('-l') + 2)).toEqual(['-l', 'deploy']);
  });

  it('hands token flags to the proxy in its environment, not its command line', () => {
    const env = proxyEnv(
      { token: 'secret-token', 'client-secret': 'cs', issuer: 'https://i' },
      { PATH: '/bin' },
    );
    expect(env).toEqual({
      PATH: '/bin',
      POSTERN_TOKEN: 'secret-token',
      POSTERN_ISSUER: 'https://i',
      POSTERN_CLIENT_SECRET: 'cs',
    });
    expect(sshArgv(host!, SPEC, '/k', { command: [] }).join(' ')).not.toContain('secret-token');
  });
});

describe('mergeKnownHosts', () => {
  const [a, b] = sshHosts({
    connections: [
      { name: 'a', protocol: 'ssh', ssh: { hostKeys: [ECDSA] } },
      { name: 'b', protocol: 'ssh', ssh: { hostKeys: [RSA] } },
    ],
  }).hosts;

  it("replaces its hosts' lines, keeps everything else, and is idempotent", () => {
    const existing = [
      'github.com ssh-ed25519 AAAAkeep',
      `a.postern ${bare(RSA)}`, // a's old key: replaced
      `@revoked a.postern ${bare(RSA)}`, // the user's marker: kept
      '',
    ].join('\n');
    const once = mergeKnownHosts(existing, [a!, b!]);
    expect(once).toBe(
      [
        'github.com ssh-ed25519 AAAAkeep',
        `@revoked a.postern ${bare(RSA)}`,
        `a.postern ${bare(ECDSA)}`,
        `b.postern ${bare(RSA)}`,
        '',
      ].join('\n'),
    );
    expect(mergeKnownHosts(once, [a!, b!])).toBe(once);
    expect(mergeKnownHosts('', [])).toBe('\n');
  });
});
