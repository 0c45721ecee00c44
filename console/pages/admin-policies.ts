/**
 * #/admin/policies: the Cedar documents of a scope (global, or one connection), an editor that
 * shows Cedar's validation problems at their line while typing (POST /policy-validation) and
 * will not save a document that has any, and the try-it box: the decision a session would make
 * on a statement, SSH request or Kubernetes request as a given person (POST /policy-explain),
 * with the draft in the editor in place of the stored document. Admins only.
 */
import { h, notice, replace } from '../dom.ts';
import { adminOnly, errorText, field } from './admin-common.ts';
import { policyEditor } from './policy-editor.ts';
import { tryItBox } from './policy-try-it.ts';
import type { PageContext } from './page.ts';

export interface PolicyDocument {
  name: string;
  scope: string;
  text: string;
  updatedAt: string;
}
export interface ConnectionRef {
  name: string;
  protocol: 'postgres' | 'ssh' | 'kubernetes';
}

const GLOBAL = 'global';

export async function render(root: HTMLElement, ctx: PageContext): Promise<void> {
  if (!(await adminOnly(root, ctx, 'Policies', '/policies'))) return;
  const status = h('div', { 'aria-live': 'polite' });
  let connections: ConnectionRef[] = [];
  try {
    connections = (await ctx.api.get<{ connections: ConnectionRef[] }>('/connections')).connections;
  } catch (e) {
    replace(status, notice('error', errorText(e)));
  }
  const scope = h(
    'select',
    { name: 'scope' },
    h('option', { value: GLOBAL }, 'Global (every connection)'),
    ...connections.map((c) => h('option', { value: c.name }, `Connection ${c.name} (${c.protocol})`)),
  );
  const docs = h('ul', { class: 'row', 'aria-label': 'Documents' });
  const editorBox = h('div');
  const editor = policyEditor(ctx, {
    saved: async (name) => {
      replace(status, notice('info', `Policy document "${name}" saved.`));
      await loadDocs(name);
    },
    deleted: async (name) => {
      replace(status, notice('info', `Policy document "${name}" deleted.`));
      await loadDocs();
    },
  });
  const tryIt = tryItBox(ctx, connections, {
    draft: () => editor.draft(),
    goTo: (document, line) => editor.goTo(document, line),
  });

  const path = () =>
    scope.value === GLOBAL ? '/policies' : `/connections/${encodeURIComponent(scope.value)}/policies`;
  const loadDocs = async (open?: string) => {
    try {
      const { policies } = await ctx.api.get<{ policies: PolicyDocument[] }>(path());
      const buttons = policies.map((p) => {
        const b = h('button', { type: 'button', 'data-document': p.name }, p.name);
        b.addEventListener('click', () => editor.open(scope.value, p));
        return h('li', {}, b);
      });
      const fresh = h('button', { type: 'button', class: 'primary' }, 'New document');
      fresh.addEventListener('click', () => editor.open(scope.value));
      replace(docs, ...buttons, h('li', {}, fresh));
      const wanted = policies.find((p) => p.name === open) ?? policies[0];
      editor.open(scope.value, wanted);
      if (scope.value !== GLOBAL) tryIt.useConnection(scope.value);
    } catch (e) {
      replace(status, notice('error', errorText(e)));
    }
  };
  scope.addEventListener('change', () => void loadDocs());

  replace(
    root,
    h('h1', {}, 'Policies'),
    h(
      'p',
      { class: 'muted' },
      'You are an admin: you may write, check and delete Cedar policy documents. Each is checked against the published schema as you type and cannot be saved while Cedar reports a problem. Try it explains what a session would decide, with your unsaved draft.',
    ),
    status,
    h('div', { class: 'row' }, field('Scope', scope)),
    docs,
    editorBox,
    tryIt.element,
  );
  // The editor appears once the scope's first document is in it: shown earlier, what a person
  // typed meanwhile would be replaced by that document.
  await loadDocs();
  replace(editorBox, editor.element);
}
