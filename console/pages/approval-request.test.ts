import { describe, expect, it } from 'vitest';
import { mayBeCut, RECORDED_CHARS, requestParts, visible } from './approval-request.ts';

const parts = (action: string, text: string) =>
  Object.fromEntries(requestParts(action, text).map((p) => [p.label, p.value]));

describe('requestParts', () => {
  it('reads a held Kubernetes request into verb, resource, namespace and name', () => {
    expect(
      parts('k8s:delete', 'k8s:delete configmaps "billing" in namespace "prod" on connection "kube"'),
    ).toEqual({
      Verb: 'delete',
      Resource: 'configmaps',
      Namespace: 'prod',
      Name: 'billing',
    });
    expect(
      parts('k8s:patch', 'k8s:patch deployments.apps/scale "web" in namespace "staging" on connection "k"'),
    ).toEqual({
      Verb: 'patch',
      Resource: 'deployments/scale',
      'API group': 'apps',
      Namespace: 'staging',
      Name: 'web',
    });
    expect(parts('k8s:delete', 'k8s:delete nodes "n1" on connection "k"')).toEqual({
      Verb: 'delete',
      Resource: 'nodes',
      Namespace: '(none: cluster-wide or all namespaces)',
      Name: 'n1',
    });
  });

  it('reads the whole command of a held exec, escapes undone', () => {
    const command = 'sh -c "echo hi"\nrm -rf /data';
    expect(
      parts(
        'k8s:exec',
        `k8s:exec pods/exec "web-1" in namespace "prod" ${JSON.stringify(command)} on connection "k"`,
      ),
    ).toEqual({ Verb: 'exec', Resource: 'pods/exec', Namespace: 'prod', Name: 'web-1', Command: command });
    expect(parts('ssh:exec', `ssh:exec as deploy ${JSON.stringify(command)} on connection "ssh"`)).toEqual({
      Login: 'deploy',
      Command: command,
    });
  });

  it('gives no parts when a client-chosen name could pose as another part', () => {
    // A cluster-scoped name `x" in namespace "prod` (quote and spaces) in a delete of nodes.
    expect(
      requestParts(
        'k8s:delete',
        'k8s:delete nodes "x" in namespace "prod" in namespace "staging" on connection "k"',
      ),
    ).toEqual([]);
    expect(requestParts('k8s:delete', 'k8s:delete nodes "a b" on connection "k"')).toEqual([]);
    // A verb other than the action held.
    expect(requestParts('k8s:get', 'k8s:delete pods "p" in namespace "prod" on connection "k"')).toEqual([]);
    // A "command" on a verb that takes none.
    expect(
      requestParts('k8s:delete', 'k8s:delete pods "p" in namespace "prod" "rm" on connection "k"'),
    ).toEqual([]);
    // A command that is not a JSON string (an unescaped quote inside, as older edges wrote it).
    expect(requestParts('ssh:exec', 'ssh:exec as deploy "sudo ls "/root"" on connection "s"')).toEqual([]);
    // An SSH login that is quoted text.
    expect(requestParts('ssh:exec', 'ssh:exec as "a" "ls" on connection "s"')).toEqual([]);
    // Text that is not the gate's at all, and other actions: shown as recorded.
    expect(requestParts('ssh:exec', 'ls')).toEqual([]);
    expect(requestParts('sql:ddl', 'CREATE TABLE t (id int)')).toEqual([]);
  });

  it('says when a request’s text may have been cut where the session records it', () => {
    expect(mayBeCut('x'.repeat(RECORDED_CHARS))).toBe(true);
    expect(mayBeCut('x'.repeat(RECORDED_CHARS - 1))).toBe(false);
    expect(mayBeCut(null)).toBe(false);
  });

  it('shows the characters that would hide or reorder what an approver reads', () => {
    expect(visible('DELETE FROM t /* \u202e */ WHERE\u2028x\u0000\u0085\u200b')).toBe(
      'DELETE FROM t /* [U+202E] */ WHERE[U+2028]x[U+0000][U+0085][U+200B]',
    );
    expect(visible('a\n\tb')).toBe('a\n\tb');
    const command = 'ls \u202e fr- mr';
    expect(
      parts('ssh:exec', `ssh:exec as deploy ${JSON.stringify(command)} on connection "s"`)['Command'],
    ).toBe('ls [U+202E] fr- mr');
  });
});
