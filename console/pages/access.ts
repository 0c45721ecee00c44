/**
 * #/access: access requests and time-boxed grants, and a form to ask for access. A placeholder from the console shell; s13-wpages builds it.
 */
import { h, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

export function render(root: HTMLElement, _ctx: PageContext): void {
  replace(root, h('h1', {}, 'Access'), h('p', {}, 'This page is not built yet.'));
}
