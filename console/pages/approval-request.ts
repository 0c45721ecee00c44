/**
 * A held SSH command or Kubernetes request read into its parts for the approval card: the
 * Kubernetes verb, resource, namespace and name (and an exec's command); the SSH login and
 * command. The approval view carries only the request's text as the session recorded it
 * (core/kube/kube-gate.ts and core/ssh/ssh-gate.ts write it: `k8s:delete configmaps "billing" in
 * namespace "prod" on connection "c"`, `ssh:exec as deploy "sudo ls" on connection "c"`, the
 * command a JSON string, whole and escaped), so this reads that text back. The client chose the
 * names inside it: a name holding a quote or a space could pose as another part (`x" in namespace
 * "prod`), so a name is read only when it has neither, and any text that does not read back
 * exactly gives no parts; the card then shows the text alone. (An SSH login with a space, `a "b`,
 * would still read as login `a`: no account on the target has such a name, and the recorded text
 * is shown beside the parts.)
 */

export interface RequestPart {
  label: string;
  value: string;
  /** A command: shown in a monospace block. */
  code?: boolean;
}

/** Names as Kubernetes and sshd accept them: no space, no quote (anything else is shown raw). */
const NAME = String.raw`[^\s"]+`;
/** A JSON string: a quote ends it only unescaped, so the command cannot pose as another part. */
const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const CONNECTION = String.raw` on connection "[^"]*"$`;

const KUBE = new RegExp(
  String.raw`^k8s:([a-z_]+) (${NAME})(?: "(${NAME})")?(?: in namespace "(${NAME})")?(?: (${JSON_STRING}))?${CONNECTION}`,
);
const SSH_EXEC = new RegExp(String.raw`^ssh:exec as (${NAME}) (${JSON_STRING})${CONNECTION}`);

/**
 * Text a client chose, as an approver may read it: control and format characters (a
 * right-to-left override in a statement's comment reorders what follows it), line and
 * paragraph separators become visible `[U+202E]` marks; line breaks and tabs stay.
 */
export function visible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) =>
    c === '\n' || c === '\t' || c === '\r'
      ? c
      : `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`,
  );
}

/** The parts of `text` held for `action`, or [] when it is not read (shown as recorded). */
export function requestParts(action: string, text: string): RequestPart[] {
  if (action.startsWith('k8s:')) return kubeParts(action, text);
  if (action === 'ssh:exec') {
    const m = SSH_EXEC.exec(text);
    const command = m && unquote(m[2]!);
    if (command === null || command === undefined) return [];
    return [
      { label: 'Login', value: m![1]! },
      { label: 'Command', value: visible(command), code: true },
    ];
  }
  return [];
}

function kubeParts(action: string, text: string): RequestPart[] {
  const m = KUBE.exec(text);
  // The verb must be the action held: the text cannot name another.
  if (!m || `k8s:${m[1]}` !== action) return [];
  const [, verb, what, name, namespace, quoted] = m;
  const command = quoted === undefined ? undefined : unquote(quoted);
  if (command === null) return [];
  // A command only where the verb takes one: exec and attach (kube-gate.ts puts it last).
  if (command !== undefined && verb !== 'exec' && verb !== 'attach') return [];
  // `deployments.apps/scale`: resource, API group, subresource (kube-gate.ts `describe`).
  const [typed, subresource] = what!.split('/', 2) as [string, string | undefined];
  const dot = typed.indexOf('.');
  const resource = dot < 0 ? typed : typed.slice(0, dot);
  const group = dot < 0 ? '' : typed.slice(dot + 1);
  const parts: RequestPart[] = [
    { label: 'Verb', value: verb! },
    { label: 'Resource', value: subresource ? `${resource}/${subresource}` : resource },
  ];
  if (group) parts.push({ label: 'API group', value: group });
  parts.push({ label: 'Namespace', value: namespace ?? '(none: cluster-wide or all namespaces)' });
  if (name) parts.push({ label: 'Name', value: name });
  if (command !== undefined) parts.push({ label: 'Command', value: visible(command), code: true });
  return parts;
}

/** A JSON string's value, or null when it is not one. */
function unquote(quoted: string): string | null {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * How much of a request's text the session records on it (`MAX_STATEMENT_CHARS`,
 * durable-objects/session/approval-request.ts): a longer statement or command is cut there, with
 * no mark, and what runs is the whole of it.
 */
export const RECORDED_CHARS = 8 * 1024;

/** The text may have been cut: the approver is not reading all that would run. */
export function mayBeCut(text: string | null): boolean {
  return (text?.length ?? 0) >= RECORDED_CHARS;
}
