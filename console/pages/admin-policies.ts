/**
 * #/admin/policies: policy documents with the editor and the try-it box. A placeholder from the console shell; s13-wadmin builds it.
 */
import { h, replace } from '../dom.ts';
import type { PageContext } from './page.ts';

export function render(root: HTMLElement, _ctx: PageContext): void {
  replace(root, h('h1', {}, 'Policies'), h('p', {}, 'This page is not built yet.'));
}
