/**
 * A tiny element builder: the console has no framework (console/README.md says why). Text goes
 * in as text nodes, never as HTML, so nothing a server or a user typed can become markup.
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** `h('button', { type: 'button', onclick: fn }, 'Approve')`. `on*` attributes become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * Empties `el` and puts `children` in it. When the focus was inside, it goes to the same control
 * in the new content (same tag, name, label, link and text): the pages that refresh every few
 * seconds would otherwise drop a keyboard user's focus to the top of the page each time.
 */
export function replace(el: Element, ...children: Child[]): void {
  const focused = document.activeElement;
  const key = focused && focused !== el && el.contains(focused) ? focusKey(focused) : null;
  el.replaceChildren();
  append(el, ...children);
  if (key === null) return;
  for (const candidate of el.querySelectorAll<HTMLElement>(focused!.tagName))
    if (focusKey(candidate) === key) return candidate.focus({ preventScroll: true });
}

function focusKey(e: Element): string {
  return [
    e.tagName,
    e.getAttribute('name'),
    e.getAttribute('aria-label'),
    e.getAttribute('href'),
    e.textContent?.trim().slice(0, 80),
  ].join('\u0000');
}

/** A notice for errors and refusals (role=alert, so screen readers say it). */
export function notice(kind: 'error' | 'info', text: string): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/**
 * Says `text` to a screen reader without moving the focus: the shell's one polite live region
 * (`#announcer`, made by main.ts). For news the person did not ask for, such as a request
 * arriving in the inbox; what their own action caused goes in that form's status instead.
 */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (region) region.textContent = text;
}
