/**
 * The object name a list or watch names through `fieldSelector=metadata.name=X`: the API server
 * puts it in RequestInfo.Name (k8s.io/apiserver requestinfo.go, via
 * `FieldSelector.RequiresExactMatch("metadata.name")`) so RBAC's resourceNames apply to
 * `kubectl get pod x -w`, and so does Postern's `context.name`.
 *
 * apimachinery fields/selector.go: terms split on unescaped `,`, sorted, each split at the first
 * `!=`, `==` or `=`; a term that does not parse makes the whole selector (and the list) fail.
 * Escapes (`\,`, `\=`, `\\`) are refused here rather than read: no valid name needs them.
 */

/** The name, '' when the selector names none, or undefined when the reading is uncertain. */
export function selectedName(selector: string): string | undefined {
  if (selector.includes('\\')) return undefined;
  let name = '';
  for (const term of selector.split(',')) {
    if (term === '') continue;
    const op = term.search(/!=|==|=/);
    if (op < 0) return ''; // the selector does not parse: the server fails the list (no name)
    const field = term.slice(0, op);
    const equal = term.startsWith('!=', op) ? false : true;
    const value = term.slice(op + (term.startsWith('=', op) && !term.startsWith('==', op) ? 1 : 2));
    if (/[=,]/.test(value)) return ''; // an unescaped `=` in a value: UnescapeValue fails
    if (field !== 'metadata.name' || !equal) continue;
    // Two names: the server takes the first in sort order; a request that odd is refused.
    if (name !== '' && name !== value) return undefined;
    name = value;
  }
  // path.IsValidPathSegmentName, or the server leaves the name out.
  if (name === '.' || name === '..' || /[/%]/.test(name)) return '';
  return name;
}
