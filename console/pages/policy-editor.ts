/**
 * The policy page's editor: a textarea with a line-number gutter. While the person types, the
 * text is checked against the schema (POST /policy-validation, debounced); Cedar's problems are
 * marked in the gutter at their line and listed (each moves the caret to its line), and Save
 * stays disabled until there are none. The server checks again on save (PUT refuses a document
 * that does not validate).
 */
import { h, notice, replace } from '../dom.ts';
import { errorText, field } from './admin-common.ts';
import type { PolicyDocument } from './admin-policies.ts';
import type { PageContext } from './page.ts';

interface Problem {
  message: string;
  line: number;
  column: number;
}

/** The editor's text as try-it sends it: an unsaved document of a scope. */
export interface Draft {
  scope: 'global' | 'connection';
  /** The connection, for a connection's document. */
  connection?: string;
  name: string;
  text: string;
}

const CHECK_DELAY_MS = 300;
const GLOBAL = 'global';

export function policyEditor(
  ctx: PageContext,
  on: { saved: (name: string) => Promise<void>; deleted: (name: string) => Promise<void> },
) {
  let scope = GLOBAL;
  let stored: PolicyDocument | undefined;
  let problems: Problem[] = [];
  let checking: ReturnType<typeof setTimeout> | undefined;
  let checked = true;
  let generation = 0;

  const name = h('input', { name: 'policyName', required: true, autocomplete: 'off' });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const text = h('textarea', {
    name: 'policyText',
    wrap: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    'aria-label': 'Cedar policy text',
    'aria-describedby': 'policy-problems',
  });
  const problemList = h('ul', {
    id: 'policy-problems',
    class: 'problems',
    'data-testid': 'policy-problems',
    'aria-live': 'polite',
  });
  const state = h('p', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'policy-state' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'policy-save' }, 'Save');
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  const result = h('div', { 'aria-live': 'polite' });
  const heading = h('h2', {}, 'New document');

  const lines = () => text.value.split('\n').length;
  const drawGutter = () => {
    const bad = new Set(problems.map((p) => p.line));
    const spans = [];
    for (let i = 1; i <= lines(); i++)
      spans.push(h('span', bad.has(i) ? { class: 'bad', 'data-line': i } : { 'data-line': i }, String(i)));
    replace(gutter, ...spans);
    gutter.scrollTop = text.scrollTop;
  };
  const drawProblems = () => {
    replace(
      problemList,
      ...problems.map((p) => {
        const b = h(
          'button',
          { type: 'button', class: 'link' },
          `Line ${p.line}, column ${p.column}: ${p.message}`,
        );
        b.addEventListener('click', () => goToLine(p.line, p.column));
        return h('li', { 'data-line': p.line }, b);
      }),
    );
    save.disabled = !checked || problems.length > 0 || text.value.trim() === '';
    replace(
      state,
      !checked
        ? 'Checking…'
        : problems.length > 0
          ? `Cedar reports ${problems.length} problem${problems.length === 1 ? '' : 's'}: fix ${problems.length === 1 ? 'it' : 'them'} to save.`
          : 'Valid against the schema.',
    );
    drawGutter();
  };
  const check = async () => {
    const mine = ++generation;
    try {
      const r = await ctx.api.post<{ valid: boolean; problems: Problem[] }>('/policy-validation', {
        text: text.value,
      });
      if (mine !== generation) return;
      problems = r.problems;
      checked = true;
    } catch (e) {
      if (mine !== generation) return;
      checked = false;
      replace(result, notice('error', `Could not check: ${errorText(e)}`));
    }
    drawProblems();
  };
  const changed = () => {
    checked = false;
    drawProblems();
    clearTimeout(checking);
    checking = setTimeout(() => void check(), CHECK_DELAY_MS);
  };
  text.addEventListener('input', changed);
  text.addEventListener('scroll', () => (gutter.scrollTop = text.scrollTop));
  ctx.signal.addEventListener('abort', () => clearTimeout(checking));

  const goToLine = (line: number, column = 1) => {
    const all = text.value.split('\n');
    let at = 0;
    for (let i = 0; i < line - 1 && i < all.length; i++) at += all[i]!.length + 1;
    at += Math.max(0, column - 1);
    text.focus();
    text.setSelectionRange(at, at);
    const lineHeight = text.scrollHeight / Math.max(1, all.length);
    text.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  const docPath = (n: string) =>
    scope === GLOBAL
      ? `/policies/${encodeURIComponent(n)}`
      : `/connections/${encodeURIComponent(scope)}/policies/${encodeURIComponent(n)}`;

  const form = h(
    'form',
    { class: 'panel', 'aria-label': 'Policy document' },
    heading,
    field('Document name', name, 'lower-case letters, digits and hyphens'),
    h('div', { class: 'editor' }, gutter, text),
    state,
    problemList,
    h('div', { class: 'row' }, save, del),
    result,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (save.disabled) return;
    void (async () => {
      try {
        await ctx.api.put(docPath(name.value), { text: text.value });
        replace(result);
        await on.saved(name.value);
      } catch (e) {
        replace(result, notice('error', errorText(e)));
      }
    })();
  });
  del.addEventListener('click', () => {
    if (!stored || !confirm(`Delete policy document "${stored.name}"?`)) return;
    void ctx.api
      .del(docPath(stored.name))
      .then(() => on.deleted(stored!.name))
      .catch((e) => replace(result, notice('error', errorText(e))));
  });

  return {
    element: form,
    /** Shows a stored document of `scopeName`, or an empty new one. */
    open(scopeName: string, doc?: PolicyDocument) {
      scope = scopeName;
      stored = doc;
      name.value = doc?.name ?? '';
      name.disabled = doc !== undefined;
      text.value = doc?.text ?? '';
      del.hidden = doc === undefined;
      replace(heading, doc ? `Document ${doc.name} (${scopeName})` : `New document (${scopeName})`);
      replace(result);
      problems = [];
      checked = true;
      drawProblems();
      if (doc) void check();
    },
    /** The text being edited, for try-it (undefined when it has no name yet). */
    draft(): Draft | undefined {
      if (!name.value || !text.value.trim()) return undefined;
      return scope === GLOBAL
        ? { scope: 'global', name: name.value, text: text.value }
        : { scope: 'connection', connection: scope, name: name.value, text: text.value };
    },
    /** Moves the caret to a line when `document` (`global/x`, `connection/c/x`) is the one open. */
    goTo(document: string, line: number): boolean {
      const open = scope === GLOBAL ? `global/${name.value}` : `connection/${scope}/${name.value}`;
      if (document !== open) return false;
      goToLine(line);
      return true;
    },
  };
}
