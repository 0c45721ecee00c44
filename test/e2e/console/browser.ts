/**
 * The browser harness of the web console tests: Debian's `chromium` (scripts/os-packages-plan.ts)
 * driven by puppeteer-core over the DevTools protocol, headless, against the real stack. Each
 * person signs in through the local OpenID provider's login form in a browser context of their
 * own (their own cookie jar). Every test keeps a screenshot under test-output/console/ for a
 * person to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import type { DemoRole } from '../../../cli/dev/stack.ts';
import type { DemoPerson } from '../../../cli/dev/oidc-login.ts';
import { ROOT, type TestStack } from '../harness.ts';

export const CHROMIUM = process.env['POSTERN_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'console');

/** A phone-sized viewport (issue 14: every page usable on a phone). */
export const PHONE = { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
export const DESKTOP = { width: 1280, height: 800 };

export interface SignedIn {
  page: Page;
  context: BrowserContext;
  person: DemoPerson;
}

export interface ConsoleFixture {
  stack: TestStack;
  browser: Browser;
  people: Record<DemoRole, DemoPerson>;
  /** A new browser context signed in as `role` through the provider's form, on `#/` (or `hash`). */
  signIn(
    role: DemoRole,
    opts?: { viewport?: typeof PHONE | typeof DESKTOP; hash?: string },
  ): Promise<SignedIn>;
  /** Saves `test-output/console/<name>.png`. */
  shot(page: Page, name: string): Promise<string>;
}

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox needs user namespaces that a root process in a container may lack.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Fills the provider's login form and waits until the console shows who signed in. */
export async function signInThroughForm(page: Page, stack: TestStack, person: DemoPerson): Promise<void> {
  await page.waitForSelector('#username');
  if (!page.url().startsWith(`${stack.issuer}/interaction/`))
    throw new Error(`expected the provider's login form, at ${page.url()}`);
  await page.type('#username', person.username);
  await page.type('#password', person.password);
  await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
  await page.waitForSelector('[data-testid="who"]');
}

export function consoleFixture(stack: TestStack, browser: Browser): ConsoleFixture {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    stack,
    browser,
    people: stack.people,
    async signIn(role, opts = {}) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport(opts.viewport ?? DESKTOP);
      await page.goto(`${stack.consoleUrl}${opts.hash ?? '#/'}`);
      await page.waitForSelector('#sign-in');
      await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
      await signInThroughForm(page, stack, stack.people[role]);
      return { page, context, person: stack.people[role] };
    },
    async shot(page, name) {
      const file = join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
}
