import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCedar } from '../../cli/wasm-node.ts';
import { DEMO_SSH_POLICY } from '../../cli/dev/demo-policy.ts';
import { CompiledPolicies, validatePolicyText } from '../policy/engine.ts';
import { allowListPolicy, policySubject } from '../policy/principal.ts';
import { redactCommand } from '../audit/redact-command.ts';
import { commandWords, fileTransferOf, isFileTransferCommand } from './ssh-command.ts';
import { SshGate, type SshRequest, type SshVerdict } from './ssh-gate.ts';
import { alice, ALICE_EMAIL } from '../../test/support/identities.ts';

beforeAll(async () => {
  await nodeCedar();
});

const who = (groups: string[]) => alice({ groups, attributes: ALICE_EMAIL });

let n = 0;
const compile = (text: string) =>
  CompiledPolicies.compile(`ssh${++n}`, [{ id: 'connection/box/demo', text }]);

function gate(text: string, groups = ['demo'], grants: string[] = []): SshGate {
  return new SshGate(compile(text), policySubject(who(groups), 'box'), () => grants);
}

/** A gate past `ssh:login` as `login`. */
function loggedIn(text: string, login = 'deploy', groups = ['demo'], grants: string[] = []): SshGate {
  const g = gate(text, groups, grants);
  expect(g.decide({ action: 'ssh:login', login }).effect).toBe('allow');
  return g;
}

const exec = (command: string): SshRequest => ({ action: 'ssh:exec', command });

describe('the SSH actions in the published schema', () => {
  it('validates the demo SSH policy', () => {
    expect(validatePolicyText(DEMO_SSH_POLICY)).toEqual([]);
  });

  it("catches a policy reading a fact its action's requests do not carry", () => {
    const problems = validatePolicyText(
      'permit(principal, action == Postern::Action::"ssh:shell", resource) when { context.command == "ls" };',
    );
    expect(problems[0]?.message).toContain('command');
    expect(
      validatePolicyText(
        'permit(principal, action == Postern::Action::"ssh:exec", resource) when { context.plain && context.program == "uptime" && context.login == "deploy" };',
      ),
    ).toEqual([]);
    expect(
      validatePolicyText(
        'permit(principal, action == Postern::Action::"ssh:port_forward", resource) when { context.port == 5432 && context.host == "db" };',
      ),
    ).toEqual([]);
  });
});

describe('SSH decisions', () => {
  it('denies by default, naming the action and what to do', () => {
    const v = gate('').decide({ action: 'ssh:login', login: 'deploy' });
    expect(v.effect).toBe('deny');
    expect((v as { message: string }).message).toContain(
      'Postern policy denied ssh:login on connection "box": no policy permits it',
    );
    expect(v.audit).toMatchObject({ action: 'ssh:login', outcome: 'deny', login: 'deploy' });
  });

  it('allows nothing but a login before a login was allowed', () => {
    const g = gate('permit(principal, action, resource);');
    const v = g.decide({ action: 'ssh:shell' });
    expect(v).toMatchObject({ effect: 'deny', audit: { outcome: 'unsafe' } });
    expect(gate('').decide({ action: 'ssh:login', login: 'x' }).effect).toBe('deny');
  });

  it('puts the allowed login in the context of every later request', () => {
    const g = loggedIn(
      `permit(principal, action == Postern::Action::"ssh:login", resource);
       permit(principal, action == Postern::Action::"ssh:shell", resource) when { context.login == "deploy" };`,
      'deploy',
    );
    expect(g.decide({ action: 'ssh:shell' }).effect).toBe('allow');
    const root = loggedIn(
      `permit(principal, action == Postern::Action::"ssh:login", resource);
       permit(principal, action == Postern::Action::"ssh:shell", resource) when { context.login == "deploy" };`,
      'root',
    );
    expect(root.decide({ action: 'ssh:shell' }).effect).toBe('deny');
  });

  it('refuses user names and commands no policy should be asked about', () => {
    const g = gate('permit(principal, action, resource);');
    for (const login of ['', 'a\nDETAIL: forged', 'x'.repeat(257), 'a\u202eb']) {
      expect(g.decide({ action: 'ssh:login', login })).toMatchObject({
        effect: 'deny',
        audit: { outcome: 'unsafe' },
      });
    }
    expect(g.login).toBeUndefined();
    const ok = loggedIn('permit(principal, action, resource);');
    expect(ok.decide(exec('ls\0; rm -rf /'))).toMatchObject({ effect: 'deny', audit: { outcome: 'unsafe' } });
    expect(
      ok.decide({ action: 'ssh:port_forward', host: 'db', port: 70000, direction: 'local' }).effect,
    ).toBe('deny');
    expect(ok.decide({ action: 'ssh:nope' } as unknown as SshRequest).effect).toBe('deny');
    // A missing fact would make a forbid reading it err, and Cedar skips a policy that errs.
    const forbidRemote = loggedIn(`permit(principal, action, resource);
      forbid(principal, action == Postern::Action::"ssh:port_forward", resource) when { context.direction == "remote" };`);
    for (const r of [
      { action: 'ssh:port_forward', host: '0.0.0.0', port: 80 },
      { action: 'ssh:port_forward', host: 7, port: 80, direction: 'remote' },
      { action: 'ssh:port_forward', host: 'a\nb', port: 80, direction: 'local' },
      { action: 'ssh:sftp_write', path: '/x' },
      { action: 'ssh:exec' },
    ]) {
      expect(forbidRemote.decide(r as unknown as SshRequest), JSON.stringify(r)).toMatchObject({
        effect: 'deny',
        audit: { outcome: 'unsafe' },
      });
    }
  });
});

describe('the demo SSH policy', () => {
  const demo = () => loggedIn(DEMO_SSH_POLICY);

  it('allows shells, terminals, sftp and plain commands', () => {
    const g = demo();
    for (const r of [
      { action: 'ssh:shell' },
      { action: 'ssh:pty' },
      { action: 'ssh:sftp' },
      { action: 'ssh:sftp_read', operation: 'read', path: '/etc/hostname' },
      { action: 'ssh:sftp_write', operation: 'write', path: '/tmp/x' },
      { action: 'ssh:port_forward', host: '127.0.0.1', port: 5432, direction: 'local' },
      exec('uname -a'),
      exec('ls -la | head'),
    ] as SshRequest[]) {
      expect(g.decide(r), JSON.stringify(r)).toMatchObject({ effect: 'allow' });
    }
  });

  it('refuses SFTP writes under /etc and to SSH keys, with the reason; reads stay allowed', () => {
    const g = demo();
    for (const [path, reason] of [
      ['/etc/passwd', 'files under /etc are read-only through Postern'],
      ['/etc', 'files under /etc are read-only through Postern'],
      ['/home/deploy/.ssh/authorized_keys', "the target account's SSH keys are not changed"],
    ]) {
      const v = g.decide({ action: 'ssh:sftp_write', operation: 'write', path: path! });
      expect(v.effect, path).toBe('deny');
      expect((v as { message: string }).message).toContain(reason);
      expect(v.audit).toMatchObject({ outcome: 'deny', operation: 'write', path });
    }
    expect(g.decide({ action: 'ssh:sftp_read', operation: 'read', path: '/etc/passwd' }).effect).toBe(
      'allow',
    );
    expect(g.decide({ action: 'ssh:sftp_write', operation: 'write', path: '/etcetera/x' }).effect).toBe(
      'allow',
    );
  });

  it('holds sudo and rm -rf for the dba group, anywhere in the command', () => {
    const g = demo();
    for (const c of ['sudo systemctl restart nginx', 'ls; sudo id', 'rm -rf /srv/old', 'cd /x && rm -fr .']) {
      const v = g.decide(exec(c));
      expect(v.effect, c).toBe('hold');
      const held = v as Extract<SshVerdict, { effect: 'hold' }>;
      expect(held.ticket).toMatchObject({
        action: 'ssh:exec',
        text: `ssh:exec as deploy "${c}" on connection "box"`,
        approval: { group: 'dba', timeout: '15m', minApprovals: 1 },
      });
      expect(held.ticket.fingerprint).toMatch(/^[0-9a-f]{32}$/);
      expect(held.message).toContain('needs approval from "dba"');
      expect(held.message).toContain("wait for a DBA's approval");
      expect(held.audit).toMatchObject({ outcome: 'approval', command: c });
    }
  });

  it('gives approvers the whole command, escaped: nothing cut off, no line break or quote to misread', () => {
    const g = demo();
    // Past the 120 characters a message quotes, the part that matters.
    const long = `sudo true ${'x'.repeat(200)}; rm -rf /srv`;
    const multi = 'sudo ls\nrm -rf / "quoted"';
    // A right-to-left override would show `sudo ls /tmp #fr- mr` reordered; U+2028 breaks a line.
    const bidi = 'sudo ls /tmp \u202e rm -rf /\u2028\u0085';
    for (const c of [long, multi, bidi]) {
      const v = g.decide(exec(c));
      if (v.effect !== 'hold') throw new Error(`not held: ${c}`);
      expect(v.ticket.text).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      expect(JSON.parse(/^ssh:exec as deploy (".*") on connection "box"$/.exec(v.ticket.text)![1]!)).toBe(c);
    }
    expect(g.decide(exec(long))).toMatchObject({
      ticket: { text: `ssh:exec as deploy "${long}" on connection "box"` },
    });
    expect(g.decide(exec(bidi))).toMatchObject({
      ticket: {
        text: 'ssh:exec as deploy "sudo ls /tmp \\u202e rm -rf /\\u2028\\u0085" on connection "box"',
      },
    });
  });

  it('refuses agent and X11 forwarding with the policy reason, and ssh -R by default', () => {
    const g = demo();
    for (const action of ['ssh:agent_forward', 'ssh:x11_forward'] as const) {
      const v = g.decide({ action });
      expect(v.effect).toBe('deny');
      expect((v as { message: string }).message).toContain(
        `Postern policy denied ${action} on connection "box": agent and X11 forwarding are off`,
      );
      expect((v as { message: string }).message).toContain(
        'DETAIL: forbidden by policy connection/box/demo#',
      );
    }
    const r = g.decide({ action: 'ssh:port_forward', host: '0.0.0.0', port: 8080, direction: 'remote' });
    expect((r as { message: string }).message).toContain(
      'denied ssh:port_forward from 0.0.0.0:8080 on connection "box": no policy permits it',
    );
  });

  it("refuses writes to the target account's keys, naming the path", () => {
    const v = demo().decide({
      action: 'ssh:sftp_write',
      operation: 'write',
      path: '/home/deploy/.ssh/authorized_keys',
    });
    expect(v.effect).toBe('deny');
    expect((v as { message: string }).message).toContain(
      'denied ssh:sftp_write write "/home/deploy/.ssh/authorized_keys" on connection "box": the target account\'s SSH keys',
    );
  });

  it('gives each command and login its own approval shape', () => {
    const fp = (g: SshGate, c: string) =>
      (g.decide(exec(c)) as Extract<SshVerdict, { effect: 'hold' }>).ticket.fingerprint;
    const a = demo();
    expect(fp(a, 'sudo ls')).toBe(fp(demo(), 'sudo ls'));
    expect(fp(a, 'sudo ls')).not.toBe(fp(a, 'sudo ls /'));
    expect(fp(a, 'sudo ls')).not.toBe(fp(loggedIn(DEMO_SSH_POLICY, 'root'), 'sudo ls'));
  });

  it('keeps secrets out of approval texts and audit events', () => {
    const v = demo().decide(exec('sudo mysql --password=hunter2 -e "select 1"'));
    const held = v as Extract<SshVerdict, { effect: 'hold' }>;
    expect(held.ticket.text).not.toContain('hunter2');
    expect(held.message).not.toContain('hunter2');
    expect(JSON.stringify(held.audit)).not.toContain('hunter2');
  });
});

describe('grants and plain commands', () => {
  it('reads the access grants of the session', () => {
    const text = `permit(principal, action == Postern::Action::"ssh:login", resource);
      permit(principal, action == Postern::Action::"ssh:exec", resource) when { context.grants.contains("ssh:exec") };`;
    expect(loggedIn(text).decide(exec('id')).effect).toBe('deny');
    const denied = loggedIn(text).decide(exec('id')) as { message: string };
    expect(denied.message).toContain('postern access request box --action ssh:exec');
    expect(loggedIn(text, 'deploy', ['demo'], ['ssh:exec']).decide(exec('id')).effect).toBe('allow');
  });

  it('lets an allow-list of programs hold against shell syntax', () => {
    const g = loggedIn(`permit(principal, action == Postern::Action::"ssh:login", resource);
      permit(principal, action == Postern::Action::"ssh:exec", resource)
        when { context.plain && context.program == "uptime" };`);
    expect(g.decide(exec('uptime')).effect).toBe('allow');
    expect(g.decide(exec("uptime -p 'a b'")).effect).toBe('allow');
    for (const c of [
      'uptime; id',
      'uptime $(id)',
      'uptime `id`',
      'uptime | sh',
      'uptime\nid',
      'A=1 uptime',
      'LD_PRELOAD=/tmp/x.so uptime',
      'uptime > /etc/motd',
      'uptime "$HOME"',
      'uptime \\; id',
      'uptime *',
      '~/uptime',
    ]) {
      expect(g.decide(exec(c)).effect, c).toBe('deny');
    }
  });
});

describe('command words', () => {
  it('reads simple words and single quotes as sh does', () => {
    expect(commandWords("scp -t -- '/tmp/my file'")).toEqual({
      plain: true,
      words: ['scp', '-t', '--', '/tmp/my file'],
      program: 'scp',
    });
    expect(commandWords("a'b'c  d")).toMatchObject({ plain: true, words: ['abc', 'd'] });
    expect(commandWords("unterminated 'quote").plain).toBe(false);
    expect(commandWords('').plain).toBe(true);
  });

  it('finds scp, rsync and sftp-server file transfers, and nothing else', () => {
    expect(fileTransferOf('scp -v -t -- /tmp/x')).toEqual({ tool: 'scp', op: 'write', paths: ['/tmp/x'] });
    expect(fileTransferOf('scp -r -f /etc/a /etc/b')).toEqual({
      tool: 'scp',
      op: 'read',
      paths: ['/etc/a', '/etc/b'],
    });
    expect(fileTransferOf('rsync --server --sender -vlogDtpre.iLsfxCIvu . /srv/data')).toEqual({
      tool: 'rsync',
      op: 'read',
      paths: ['/srv/data'],
    });
    expect(fileTransferOf('rsync --server -vlogDtpre.iLsfxCIvu . /tmp/in')).toMatchObject({ op: 'write' });
    expect(fileTransferOf('/usr/lib/openssh/sftp-server')).toMatchObject({ tool: 'sftp-server' });
    for (const c of [
      'cat /etc/shadow; scp -f x',
      'scp -f x; cat /etc/shadow',
      'scp -t -f x',
      'scp x y',
      'scp -z -f x',
      'cat secrets # scp -f x',
      'rsync -av . /x',
      '/usr/lib/openssh/sftp-server /etc/shadow',
      'FOO=1 scp -f x',
    ]) {
      expect(isFileTransferCommand(c), c).toBe(false);
    }
  });

  it('redacts passwords, URIs with passwords, bearer tokens and keys in commands', () => {
    expect(redactCommand('psql postgres://app:s3cret@db/x')).toBe('psql postgres://app:[REDACTED]@db/x');
    expect(redactCommand('PGPASSWORD=s3cret psql')).toBe('PGPASSWORD=[REDACTED] psql');
    expect(redactCommand("curl -H 'Authorization: Bearer abcdefghijklmnop' x")).not.toContain(
      'abcdefghijklmnop',
    );
    expect(redactCommand('aws s3 ls # AKIAIOSFODNN7EXAMPLE')).toContain('[REDACTED:cloud_key]');
    expect(redactCommand('ls -la')).toBe('ls -la');
  });
});

describe("a connection's allow-list", () => {
  const allowList = (groups: string[], subjects: string[] = []) =>
    new SshGate(
      CompiledPolicies.compile(`allow${++n}`, [
        { id: 'connection/box/allow-list', text: allowListPolicy({ subjects, groups }) },
      ]),
      policySubject(who(['demo']), 'box'),
      () => [],
    );

  it('validates against the schema', () => {
    expect(validatePolicyText(allowListPolicy({ subjects: ['alice'], groups: ['demo'] }))).toEqual([]);
  });

  it('grants login, shell, exec, sftp and ssh -L, but not agent, X11 or ssh -R forwarding', () => {
    for (const g of [allowList(['demo']), allowList([], ['alice'])]) {
      expect(g.decide({ action: 'ssh:login', login: 'deploy' }).effect).toBe('allow');
      expect(g.decide({ action: 'ssh:shell' }).effect).toBe('allow');
      expect(g.decide({ action: 'ssh:exec', command: 'id' }).effect).toBe('allow');
      expect(g.decide({ action: 'ssh:sftp' }).effect).toBe('allow');
      expect(
        g.decide({ action: 'ssh:port_forward', host: 'db', port: 5432, direction: 'local' }).effect,
      ).toBe('allow');
      expect(g.decide({ action: 'ssh:agent_forward' }).effect).toBe('deny');
      expect(g.decide({ action: 'ssh:x11_forward' }).effect).toBe('deny');
      expect(
        g.decide({ action: 'ssh:port_forward', host: '127.0.0.1', port: 8080, direction: 'remote' }).effect,
      ).toBe('deny');
    }
  });

  it('leaves forwarding to a policy that names it', () => {
    const g = new SshGate(
      CompiledPolicies.compile(`allow${++n}`, [
        { id: 'connection/box/allow-list', text: allowListPolicy({ subjects: [], groups: ['demo'] }) },
        {
          id: 'connection/box/agent',
          text: 'permit(principal in Postern::Group::"demo", action == Postern::Action::"ssh:agent_forward", resource);',
        },
      ]),
      policySubject(who(['demo']), 'box'),
      () => [],
    );
    expect(g.decide({ action: 'ssh:login', login: 'deploy' }).effect).toBe('allow');
    expect(g.decide({ action: 'ssh:agent_forward' }).effect).toBe('allow');
    expect(g.decide({ action: 'ssh:x11_forward' }).effect).toBe('deny');
  });
});
