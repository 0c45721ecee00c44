/**
 * #/sessions: the filterable list of sessions. A placeholder from the console shell; s13-wpages builds it.
 */
import { h, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

export function render(root: HTMLElement, _ctx: PageContext): void {
  replace(root, h('h1', {}, 'Sessions'), h('p', {}, 'This page is not built yet.'));
}
