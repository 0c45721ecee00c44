/**
 * The approvals and sessions pages in the browser (issue 14), on the console test's one stack and
 * browser: a psql statement held for approval appears in the approver's inbox without a reload,
 * approving it there makes psql finish, a denial's reason reaches psql, the requester sees their
 * own request without an approve button, and a session page shows its statements and a verified
 * chain. psql runs as the demo person "requester" (a client of the same subject: the stack's
 * extra client `requester`), so the request is theirs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, clientEnv, psql, runProgram } from '../harness.ts';
import { POLICY, session } from '../approvals-harness.ts';
import type { ConsoleFixture } from './browser.ts';
import { requesterConnect } from './requester-connect.ts';

export { REQUESTER_CLIENT } from './requester-connect.ts';

const CONNECTION = 'console-held';

async function cardOf(page: Page, list: 'inbox' | 'mine', id: string) {
  return page.waitForSelector(`[data-testid="${list}"] [data-testid="approval-${id}"]`, { timeout: 20_000 });
}

export function pagesCases(fx: () => ConsoleFixture): void {
  let port = 0;
  let stopConnect: () => Promise<void> = async () => {};
  const direct = async (sql: string) =>
    (await runProgram('psql', [fx().stack.targetDsn, '-X', '-At', '-c', sql])).stdout.trim();

  beforeAll(async () => {
    const stack = fx().stack;
    const c = await requesterConnect(stack, CONNECTION, POLICY('60s'));
    port = c.port;
    stopConnect = c.stop;
  });
  afterAll(() => stopConnect());

  it('a held psql statement appears in the inbox without a reload; approving it there makes psql finish', async () => {
    const { page, context } = await fx().signIn('approver', { hash: '#/approvals' });
    const s = session(port);
    try {
      await page.waitForSelector('[data-testid="inbox"] .empty');
      s.send('CREATE TABLE console_approved (id int);');
      const id = await s.requestId();
      const card = await cardOf(page, 'inbox', id);
      const text = await card!.evaluate((el) => el.textContent ?? '');
      expect(text).toContain('CREATE TABLE console_approved');
      expect(text).toContain('requester');
      expect(text).toContain(CONNECTION);
      expect(text).toContain('policy');
      await fx().shot(page, 'approvals-inbox');
      await card!.$eval('button[data-action="approve"]', (b) => (b as HTMLButtonElement).click());
      await s.waitFor(() => s.out.stdout.includes('CREATE TABLE'), 'psql to finish the approved statement');
      expect(await direct("SELECT to_regclass('console_approved') IS NOT NULL")).toBe('t');
      await page.waitForSelector(`[data-testid="approval-${id}"]`, { hidden: true, timeout: 20_000 });
      await fx().shot(page, 'approvals-approved');
    } finally {
      await s.close();
      await context.close();
    }
  });

  it("a denial's reason typed in the page reaches psql", async () => {
    const { page, context } = await fx().signIn('approver', { hash: '#/approvals' });
    const s = session(port);
    try {
      s.send('CREATE TABLE console_denied (id int);');
      const id = await s.requestId();
      const card = await cardOf(page, 'inbox', id);
      const reason = await card!.$('input[name="reason"]');
      await reason!.type('not during the freeze');
      await card!.$eval('button[data-action="deny"]', (b) => (b as HTMLButtonElement).click());
      await s.waitFor(() => s.out.stderr.includes('not during the freeze'), 'the reason in psql');
      expect(await direct("SELECT to_regclass('console_denied') IS NULL")).toBe('t');
      await fx().shot(page, 'approvals-denied');
    } finally {
      await s.close();
      await context.close();
    }
  });

  it('the requester sees their own request waiting, with no approve button', async () => {
    const { page, context } = await fx().signIn('requester', { hash: '#/approvals' });
    const s = session(port);
    try {
      s.send('CREATE TABLE console_own (id int);');
      const id = await s.requestId();
      const card = await cardOf(page, 'mine', id);
      expect(await card!.$('button[data-action="approve"]')).toBeNull();
      expect(await card!.evaluate((el) => el.textContent ?? '')).toContain('Your own request');
      expect(await page.$(`[data-testid="inbox"] [data-testid="approval-${id}"]`)).toBeNull();
      await fx().shot(page, 'approvals-own-request');
    } finally {
      await s.close();
      await context.close();
    }
  });

  it('a session page shows its statements, the rows psql printed, and a verified chain', async () => {
    const probe = await psql(port, 'SELECT g AS console_probe FROM generate_series(1, 41 + 1) g');
    // -At: one line per row, nothing else.
    const printed = probe.stdout.trim().split('\n').length;
    expect(printed).toBe(42);
    const stack = fx().stack;
    // The probe's own session: the one whose statement event holds it, once it has ended.
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      const ev = (await stack.admin.get(
        `/audit/events?connection=${CONNECTION}&kind=statement&limit=50`,
      )) as {
        events: Array<{ session: string; data: { sql?: string } }>;
      };
      const found = ev.events.find((e) => e.data.sql?.includes('console_probe'))?.session;
      // Its events may reach the control plane before its record does (two outboxes).
      const s = found
        ? ((await stack.admin.request('GET', `/sessions/${found}`)) as {
            status: number;
            body: { state: string; audit: { events: number | null } };
          })
        : undefined;
      if (found && s?.status === 200 && s.body.state === 'ended' && s.body.audit.events !== null) id = found;
      if (!id) await new Promise((r) => setTimeout(r, 200));
    }
    expect(id).not.toBe('');
    const { page, context } = await fx().signIn('admin', { hash: `#/sessions/${id}` });
    try {
      await page.waitForSelector('[data-testid="chain"][data-ok="true"]', { timeout: 20_000 });
      const row = await page.$$eval('[data-testid="timeline"] tr[data-kind="statement"]', (trs) =>
        trs
          .filter((tr) => tr.textContent?.includes('console_probe'))
          .map((tr) => ({
            text: tr.textContent ?? '',
            outcome: tr.getAttribute('data-outcome'),
            rows: tr.querySelector('[data-testid="rows"]')?.textContent ?? '',
            took: tr.querySelector('[data-testid="took"]')?.textContent ?? '',
          })),
      );
      expect(row).toHaveLength(1);
      expect(row[0]!.text).toContain('SELECT g AS console_probe FROM generate_series(1, 41 + 1) g');
      expect(row[0]!.outcome).toBe('allow');
      // What the server acknowledged (its CommandComplete tag), as psql printed it.
      expect(row[0]!.rows).toBe(`${printed} rows`);
      expect(row[0]!.took).toMatch(/^\d+ ms$/);
      await fx().shot(page, 'session-page');
    } finally {
      await context.close();
    }
  });

  it('an SSH recording plays in the session page: the player shows the typed command', async () => {
    const stack = fx().stack;
    const ssh = stack.ssh;
    if (!ssh || !('sshd' in ssh)) throw new Error('the console stack has no demo sshd');
    const conn = (await stack.admin.get(`/connections/${ssh.connection}`)) as { ssh: { hostKeys: string[] } };
    const known = join(stack.dir, 'known_hosts-console');
    writeFileSync(known, conn.ssh.hostKeys.map((k) => `${ssh.connection}.postern ${k}\n`).join(''));
    const since = Date.now();
    const proxy = `${process.execPath} ${CLI} ssh-proxy ${ssh.connection} --edge ${stack.edgeUrl}`;
    const args = [
      ...[
        '-F',
        '/dev/null',
        '-tt',
        '-o',
        `ProxyCommand=${proxy}`,
        '-o',
        `HostKeyAlias=${ssh.connection}.postern`,
      ],
      ...[
        '-o',
        `UserKnownHostsFile=${known}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
      ],
      ...['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `${ssh.login}@${ssh.connection}.postern`],
    ];
    const out = await new Promise<string>((resolve) => {
      const child = spawn('ssh', args, { env: { ...process.env, ...clientEnv(stack) } });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      // A line at a time, as a person types: `exit` once the shell has answered the first.
      child.stdin.write('echo console-typed-$((20+22))\n');
      const answered = setInterval(() => {
        if (!text.includes('console-typed-42')) return;
        clearInterval(answered);
        child.stdin.end('exit\n');
      }, 50);
      child.on('close', () => clearInterval(answered));
    });
    expect(out).toContain('console-typed-42');
    let id = '';
    for (let i = 0; i < 150 && !id; i++) {
      const r = (await stack.admin.get(`/sessions?connection=${ssh.connection}&state=ended&limit=20`)) as {
        sessions: Array<{ id: string; startedAt: string; audit: { events: number | null } }>;
      };
      id =
        r.sessions.find((x) => Date.parse(x.startedAt) >= since - 1000 && x.audit.events !== null)?.id ?? '';
      if (id) {
        const ev = (await stack.admin.get(`/sessions/${id}/events`)) as { events: unknown[] };
        const s = (await stack.admin.get(`/sessions/${id}`)) as { audit: { events: number } };
        if (ev.events.length !== s.audit.events) id = '';
      }
      if (!id) await new Promise((r) => setTimeout(r, 200));
    }
    expect(id).not.toBe('');
    const { page, context } = await fx().signIn('admin', { hash: `#/sessions/${id}` });
    try {
      await page.waitForSelector('[data-testid="player"]', { timeout: 20_000 });
      await page.waitForFunction(
        () =>
          document
            .querySelector('[data-testid="player"]')
            ?.textContent?.includes('echo console-typed-$((20+22))'),
        { timeout: 30_000 },
      );
      await page.waitForSelector('[data-testid="chain"][data-ok="true"]', { timeout: 20_000 });
      await fx().shot(page, 'session-recording');
    } finally {
      await context.close();
    }
  });
}
