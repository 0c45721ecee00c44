/**
 * What the accessibility walk (a11y.cases.ts) checks on each page, in the browser itself: no
 * sideways page scroll, nothing cut at the right edge outside a box that scrolls, tap targets,
 * an accessible name for every control, buttons and links used as such; and, by pressing Tab,
 * that every control is reached in document order with a visible focus ring and nothing traps
 * the focus. Each returns the problems found (empty: none), so one walk reports them all.
 */
import type { Page } from 'puppeteer-core';

/** A finger-sized target (issue 14 "~40 px"; WCAG 2.5.5 asks 44, Material 48, 2.5.8 24). */
export const MIN_TAP_PX = 40;

/**
 * Layout, targets, names and roles of the page as it is now, on a screen `width` px wide. The
 * width is the test's, not `innerWidth`: a phone browser widens its layout viewport to fit
 * content that is too wide (and zooms out), so innerWidth grows with the very overflow sought.
 */
export function auditPage(page: Page, width: number): Promise<string[]> {
  return page.evaluate(
    (minTap, vw) => {
      const problems: string[] = [];
      const se = document.scrollingElement!;
      if (window.innerWidth > vw)
        problems.push(`the layout is ${window.innerWidth} px wide on a ${vw} px screen`);
      if (se.scrollWidth > vw) problems.push(`the page scrolls sideways: ${se.scrollWidth} px in ${vw}`);
      const shown = (el: Element) => {
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && el.closest('[hidden]') === null;
      };
      const describe = (el: Element) => {
        const h = el as HTMLElement;
        const name =
          h.getAttribute('aria-label') ?? h.getAttribute('name') ?? (h.textContent ?? '').trim().slice(0, 30);
        return `<${el.tagName.toLowerCase()}${h.className ? `.${String(h.className).split(' ').join('.')}` : ''}> "${name}"`;
      };
      /** Inside a box that scrolls sideways by itself (a table, a code block, a textarea). */
      const scrolls = (el: Element | null) => {
        for (let e = el; e && e !== document.body; e = e.parentElement) {
          const ox = getComputedStyle(e).overflowX;
          if ((ox === 'auto' || ox === 'scroll') && e !== el) return true;
        }
        return false;
      };
      // Cut text: an element reaching past the right edge, not inside something that scrolls.
      for (const el of document.body.querySelectorAll('header *, main *')) {
        if (!shown(el) || el.closest('.player, .ap-wrapper')) continue;
        const r = el.getBoundingClientRect();
        if (r.right > vw + 1 && !scrolls(el)) {
          problems.push(`${describe(el)} reaches ${Math.round(r.right)} px, past the ${vw} px screen`);
          break; // its children would say the same
        }
      }
      const name = (el: HTMLElement): string => {
        const aria = el.getAttribute('aria-label');
        if (aria?.trim()) return aria.trim();
        const by = el.getAttribute('aria-labelledby');
        if (by)
          return by
            .split(/\s+/)
            .map((id) => document.getElementById(id)?.textContent ?? '')
            .join(' ')
            .trim();
        const labels = (el as HTMLInputElement).labels;
        if (labels?.length)
          return [...labels]
            .map((l) => l.textContent ?? '')
            .join(' ')
            .trim();
        return (el.getAttribute('title') ?? '').trim();
      };
      for (const el of document.querySelectorAll<HTMLElement>('input, select, textarea')) {
        if ((el as HTMLInputElement).type === 'hidden' || !shown(el)) continue;
        if (!name(el)) problems.push(`${describe(el)} has no label`);
      }
      for (const el of document.querySelectorAll<HTMLElement>('button, a')) {
        if (!shown(el) || el.closest('.player, .ap-wrapper')) continue;
        if (!(el.getAttribute('aria-label') ?? el.textContent ?? '').trim())
          problems.push(`${describe(el)} has no name`);
      }
      // Links go somewhere; anything else that acts is a button.
      for (const a of document.querySelectorAll('a'))
        if (!a.getAttribute('href') || /^(#|javascript:)$/i.test(a.getAttribute('href')!))
          problems.push(`${describe(a)} is a link to nowhere (a button?)`);
      for (const el of document.querySelectorAll('[tabindex]')) {
        const t = Number(el.getAttribute('tabindex'));
        if (t > 0) problems.push(`${describe(el)} has tabindex ${t}: the Tab order is the document's`);
        if (t === 0 && !el.closest('.player, .ap-wrapper'))
          problems.push(`${describe(el)} is made focusable: use a button or a link`);
      }
      for (const el of document.querySelectorAll('[role=button], [role=link]'))
        if (!el.closest('.player, .ap-wrapper')) problems.push(`${describe(el)} plays a button: use one`);
      // Tap targets: every control; a link alone in its box too. A link inside a sentence is exempt
      // (WCAG 2.5.8's inline exception), and so is the player's own toolbar.
      const targets = document.querySelectorAll<HTMLElement>(
        'button, select, textarea, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), a',
      );
      for (const el of targets) {
        // The skip link is off screen until focused (a11y.cases.ts measures it then).
        if (!shown(el) || el.closest('.player, .ap-wrapper') || el.matches('.skip')) continue;
        if (el.tagName === 'A' && !el.matches('.button, nav a, .brand, .skip')) {
          const box = el.parentElement!;
          if ((box.textContent ?? '').trim() !== (el.textContent ?? '').trim()) continue;
        }
        const r = el.getBoundingClientRect();
        if (r.height < minTap - 0.5 || r.width < minTap - 0.5)
          problems.push(`${describe(el)} is a ${Math.round(r.width)}x${Math.round(r.height)} px target`);
      }
      // A checkbox or radio is tapped through its label.
      for (const el of document.querySelectorAll<HTMLInputElement>(
        'input[type=checkbox], input[type=radio]',
      )) {
        if (!shown(el)) continue;
        const label = el.labels?.[0];
        const r = (label ?? el).getBoundingClientRect();
        if (r.height < minTap - 0.5)
          problems.push(`${describe(label ?? el)} is a ${Math.round(r.height)} px tall target`);
      }
      return problems;
    },
    MIN_TAP_PX,
    width,
  );
}

/** The controls a keyboard must reach, as `describe` names them, in document order. */
function tabbables(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const sel =
      'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled])';
    for (const el of document.querySelectorAll<HTMLElement>(sel)) {
      const r = el.getBoundingClientRect();
      if (el.classList.contains('skip')) {
        out.push(el.dataset['a11y'] ?? '');
        continue;
      }
      if (r.width === 0 || r.height === 0 || el.closest('[hidden], .player, .ap-wrapper')) continue;
      if (getComputedStyle(el).visibility === 'hidden') continue;
      out.push(el.dataset['a11y'] ?? '');
    }
    return out;
  });
}

/**
 * Presses Tab from the top of the page until the focus comes back round, and reports what was
 * never reached, what was reached with no visible focus ring, and a trap (the focus stays put,
 * or never comes round). Controls are tagged `data-a11y` first, so a page that rebuilds a list
 * while the walk runs is still compared name for name.
 */
export async function keyboardWalk(page: Page): Promise<{ problems: string[]; order: string[] }> {
  await page.evaluate(() => {
    let n = 0;
    for (const el of document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea')) {
      const text = (el.getAttribute('aria-label') ?? el.getAttribute('name') ?? el.textContent ?? '')
        .trim()
        .slice(0, 40);
      el.dataset['a11y'] = `${n++}:${el.tagName.toLowerCase()}:${text}`;
    }
  });
  const want = await tabbables(page);
  // The player's own controls (asciinema-player: its screen and its toolbar) are stops too.
  // It may still be building when the walk starts, so its stops are allowed for generously.
  const inPlayer = await page.evaluate(() => (document.querySelector('.player') ? 40 : 0));
  const problems: string[] = [];
  // Start at the top: the skip link, the document's first control (a click earlier in the test
  // would otherwise leave the browser's starting point in the middle of the page).
  const first = await page.evaluate(() => {
    const skip = document.querySelector<HTMLElement>('a.skip');
    skip?.focus();
    return skip?.dataset['a11y'] ?? null;
  });
  if (first === null) problems.push('no skip link');
  const order: string[] = first ? [first] : [];
  let stay = 0;
  const budget = want.length + inPlayer + 15;
  for (let i = 0; i < budget; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      if (el.closest('.player, .ap-wrapper')) return { id: 'player', ring: true };
      const cs = getComputedStyle(el);
      const ring =
        (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) ||
        (cs.boxShadow !== 'none' && cs.boxShadow !== '');
      const r = el.getBoundingClientRect();
      const onScreen =
        r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth;
      // A date or time input takes a Tab per part before it lets go: datetime-local to the second
      // (the sessions filters) is month, day, year, hour, minute, second, AM/PM and its picker.
      const parts = el instanceof HTMLInputElement && /^(date|time|datetime-local|month|week)$/.test(el.type);
      return { id: el.dataset['a11y'] ?? `untagged ${el.tagName}`, ring, onScreen, parts };
    });
    if (at === null) break; // past the last control: the browser's own UI comes next
    if (order.at(-1) === at.id && at.id !== 'player') {
      if (at.parts && stay++ < 10) continue;
      problems.push(`focus stuck on ${at.id}`);
      break;
    }
    stay = 0;
    if (order.includes(at.id) && at.id !== 'player') break; // came round
    order.push(at.id);
    if (!at.ring) problems.push(`no visible focus on ${at.id}`);
    if (at.onScreen === false) problems.push(`${at.id} is focused off screen`);
    if (i === budget - 1)
      problems.push(
        `the focus never came round (a trap?) after ${order.length} stops (budget ${budget}, want ${want.length}, player ${inPlayer}): ${order.slice(-6).join(' | ')}`,
      );
  }
  for (const w of want) if (!order.includes(w)) problems.push(`never reached by Tab: ${w}`);
  // The order is the document's: each stop comes after the one before it.
  const index = (id: string) => Number(id.split(':')[0]);
  const ids = order.filter((o) => o !== 'player' && !o.startsWith('untagged'));
  for (let i = 1; i < ids.length; i++)
    if (index(ids[i]!) < index(ids[i - 1]!)) problems.push(`Tab goes back from ${ids[i - 1]} to ${ids[i]}`);
  return { problems, order };
}
