/**
 * What the admin pages share: the line that says who may use them (issue 14: every page states
 * what the signed-in person may do), the refusal a non-admin gets (the server's own, shown), form
 * fields with labels, and error text. The server decides; these pages only reflect it.
 */
import './admin.css';
import { ApiError } from '../api.ts';
import { h, notice, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

/**
 * For a non-admin: says the page needs an admin and shows what the API answers them (it
 * refuses), then returns false. For an admin: true.
 */
export async function adminOnly(
  root: HTMLElement,
  ctx: PageContext,
  title: string,
  probe: string,
): Promise<boolean> {
  if (ctx.session.isAdmin) return true;
  const status = h('p', { 'data-testid': 'api-refusal' }, 'Asking the server…');
  replace(
    root,
    h('h1', {}, title),
    notice(
      'error',
      'This page needs an admin: you are signed in without the admin group, so you may not view or change this.',
    ),
    status,
  );
  try {
    await ctx.api.get(probe);
    replace(status, 'The server answered; reload the page.');
  } catch (e) {
    replace(status, `The server refuses it too: ${errorText(e)}`);
  }
  return false;
}

/** What a page shows of a failure. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message}${e.status ? ` (HTTP ${e.status})` : ''}`;
  return (e as Error)?.message ?? String(e);
}

let ids = 0;

/** A labelled control; `hint` is read by screen readers with it. */
export function field(label: string, control: HTMLElement | HTMLSelectElement, hint?: string): HTMLElement {
  const id = control.id || `f${++ids}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { id: hintId, class: 'muted' }, hint) : null,
  );
}

/** A comma- or newline-separated list typed in a field. */
export function listOf(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A timestamp for people. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : 'never';
}
