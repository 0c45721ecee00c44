/**
 * #/approvals: the approvals inbox (statements, commands and Kubernetes requests held for approval). A placeholder from the console shell; s13-wpages builds it.
 */
import { h, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

export function render(root: HTMLElement, _ctx: PageContext): void {
  replace(root, h('h1', {}, 'Approvals'), h('p', {}, 'This page is not built yet.'));
}
