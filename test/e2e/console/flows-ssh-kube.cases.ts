/**
 * SSH commands and Kubernetes requests held for approval, decided in the browser (issue 14), on
 * the console test's stack: the demo SSH connection (a real sshd on loopback) holds a command
 * that says `rm -rf` for a DBA, and the demo Kubernetes connection (a STAND-IN API server,
 * test/kube/) holds a delete in `prod`. Each is asked by the person "requester" with a real `ssh`
 * and a real `kubectl`, appears in the approver's inbox read into its parts (login and command;
 * verb, resource, namespace, name), and approving it in the page makes the waiting client finish.
 * Ground truth on the target: the file the command wrote, the object gone from the stand-in's
 * store and its DELETE received exactly once, after the approval.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI, clientEnv } from '../harness.ts';
import { kubeConfig } from '../kube/through-edge-harness.ts';
import { findType } from '../../kube/resources.ts';
import type { ConsoleFixture } from './browser.ts';
import { cardOf, cardWith, fact, press } from './flows-helpers.ts';
import { REQUESTER_CLIENT } from './pages.cases.ts';

/** A child process to its end: exit code and everything it printed. */
function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string) {
  const child = spawn(cmd, args, { env, ...(cwd ? { cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return { out, done, exited, stop: () => void (exited() || child.kill('SIGKILL')) };
}

/** The id of the card showing `text`; fails at once, with what the client said, if it ends first. */
async function heldCard(page: Page, text: string, client: ReturnType<typeof run>): Promise<string> {
  const ended = client.done.then((code) => {
    throw new Error(
      `the client ended (${code}) before its request was held:\n${client.out.stdout}\n${client.out.stderr}`,
    );
  });
  try {
    return await Promise.race([cardWith(page, 'inbox', text), ended]);
  } catch (e) {
    const inbox = await page.$eval('[data-testid="inbox"]', (el) => el.textContent ?? '').catch(() => '?');
    const notice = await page.$eval('main [aria-live]', (el) => el.textContent ?? '').catch(() => '?');
    throw new Error(
      `${String(e)}\nclient so far: ${client.out.stdout}\n${client.out.stderr}\ninbox: ${inbox}\npage says: ${notice}`,
    );
  } finally {
    ended.catch(() => undefined);
  }
}

export function flowsSshKubeCases(fx: () => ConsoleFixture): void {
  let page: Page;
  let context: BrowserContext;
  const env = () => {
    const stack = fx().stack;
    return clientEnv(stack, REQUESTER_CLIENT.clientId, stack.extraClients[REQUESTER_CLIENT.clientId]!);
  };

  beforeAll(async () => {
    ({ page, context } = await fx().signIn('approver', { hash: '#/approvals' }));
  });
  afterAll(async () => {
    await context?.close();
  });

  it('an SSH command held by policy is shown with its login and command; approving it makes ssh finish', async () => {
    const stack = fx().stack;
    const ssh = stack.ssh;
    if (!ssh || !('sshd' in ssh)) throw new Error('the console stack has no demo sshd');
    const conn = (await stack.admin.get(`/connections/${ssh.connection}`)) as { ssh: { hostKeys: string[] } };
    const known = join(stack.dir, 'known_hosts-flows');
    writeFileSync(known, conn.ssh.hostKeys.map((k) => `${ssh.connection}.postern ${k}\n`).join(''));
    const proxy = `${process.execPath} ${CLI} ssh-proxy ${ssh.connection} --edge ${stack.edgeUrl}`;
    const file = join(stack.dir, 'flows-ssh-approved');
    // `rm -rf` in the command: the demo policy holds it for a DBA. It removes nothing.
    const command = `echo flows-ssh-ran > ${file} && cat ${file} # not rm -rf`;
    const client = run(
      'ssh',
      [
        ...['-F', '/dev/null', '-o', `ProxyCommand=${proxy}`, '-o', `HostKeyAlias=${ssh.connection}.postern`],
        ...['-o', `UserKnownHostsFile=${known}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
        ...['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'],
        `${ssh.login}@${ssh.connection}.postern`,
        command,
      ],
      { ...process.env, ...env() } as Record<string, string>,
    );
    try {
      const id = await heldCard(page, 'flows-ssh-ran', client);
      const card = await cardOf(page, 'inbox', id);
      expect(client.exited()).toBe(false);
      expect(existsSync(file)).toBe(false);
      const parts = await card.$$eval('[data-testid="request-parts"] dd', (dds) =>
        Object.fromEntries(dds.map((d) => [d.getAttribute('data-part'), d.textContent])),
      );
      expect(parts).toEqual({ Login: ssh.login, Command: command });
      expect(await fact(card, 'requester')).toBe('requester');
      expect(await fact(card, 'connection')).toBe(ssh.connection);
      expect(await fact(card, 'held-by')).toMatch(/^policy \S/);
      expect(await card.evaluate((e) => e.textContent ?? '')).toContain('Command · ssh:exec');
      await fx().shot(page, 'flows-ssh-held');
      await press(card, 'approve');
      expect(await client.done).toBe(0);
      expect(client.out.stdout.trim()).toBe('flows-ssh-ran');
      expect(readFileSync(file, 'utf8')).toBe('flows-ssh-ran\n');
      await page.waitForSelector(`[data-testid="approval-${id}"]`, { hidden: true, timeout: 20_000 });
    } finally {
      client.stop();
    }
  });

  it('a Kubernetes delete held by policy is shown as verb, resource, namespace and name; approving it makes kubectl finish', async () => {
    const stack = fx().stack;
    const kube = stack.kube;
    if (!kube || !('front' in kube))
      throw new Error(`the console stack has no demo cluster: ${JSON.stringify(kube)}`);
    const configmaps = findType('', 'v1', 'configmaps')!;
    kube.standIn.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'flows-held', namespace: 'prod' },
      data: { note: 'deleted once a DBA approves' },
    });
    copyFileSync(kube.frontCaFile, join(stack.dir, 'edge-ca.pem'));
    const kubeconfig = join(stack.dir, 'kubeconfig-flows');
    const made = await kubeConfig(
      {
        connection: kube.connection,
        edgeUrl: stack.edgeUrl,
        frontUrl: kube.front.url,
        dir: stack.dir,
        kubeconfig,
      },
      env(),
    );
    expect(made.code, made.stderr).toBe(0);
    const deletes = () =>
      kube.standIn.requests.filter((q) => q.method === 'DELETE' && q.url.includes('/configmaps/flows-held'))
        .length;
    const client = run(
      'kubectl',
      ['delete', 'configmap', 'flows-held', '-n', 'prod'],
      { PATH: process.env['PATH'] ?? '', HOME: stack.dir, KUBECONFIG: kubeconfig, ...env() },
      stack.dir,
    );
    try {
      const id = await heldCard(page, 'flows-held', client);
      const card = await cardOf(page, 'inbox', id);
      expect(client.exited()).toBe(false);
      expect(deletes()).toBe(0);
      const parts = await card.$$eval('[data-testid="request-parts"] dd', (dds) =>
        Object.fromEntries(dds.map((d) => [d.getAttribute('data-part'), d.textContent])),
      );
      expect(parts).toEqual({
        Verb: 'delete',
        Resource: 'configmaps',
        Namespace: 'prod',
        Name: 'flows-held',
      });
      expect(await card.evaluate((e) => e.textContent ?? '')).toContain('Kubernetes request · k8s:delete');
      expect(await fact(card, 'requester')).toBe('requester');
      expect(await fact(card, 'connection')).toBe(kube.connection);
      await fx().shot(page, 'flows-kube-held');
      await press(card, 'approve');
      expect(await client.done, client.out.stderr).toBe(0);
      expect(client.out.stdout).toContain('configmap "flows-held" deleted');
      expect(deletes()).toBe(1);
      expect(kube.standIn.store.has(configmaps, 'prod', 'flows-held')).toBe(false);
      await page.waitForSelector(`[data-testid="approval-${id}"]`, { hidden: true, timeout: 20_000 });
    } finally {
      client.stop();
    }
  });
}
