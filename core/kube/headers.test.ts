import { describe, expect, it } from 'vitest';
import { upstreamHeaders, type KubeCaller } from './headers.ts';

const alice: KubeCaller = {
  issuer: 'https://id.test',
  subject: 'u1',
  groups: ['dev', 'sre'],
  email: 'alice@example.com',
};
const token = { kind: 'bearer', token: 'sa-token-abc' } as const;

function names(h: Array<[string, string]>): string[] {
  return h.map(([n]) => n);
}

describe('upstream headers', () => {
  it('never passes what the client says about who it is', () => {
    const client: Array<[string, string]> = [
      ['Authorization', 'Bearer client-oidc-token'],
      ['authorization', 'Basic x'],
      ['Impersonate-User', 'system:admin'],
      ['impersonate-group', 'system:masters'],
      ['IMPERSONATE-UID', '0'],
      ['Impersonate-Extra-scopes', 'all'],
      ['Impersonate_User', 'system:admin'],
      ['Impersonate', 'x'],
      ['X-Remote-User', 'system:admin'],
      ['x-remote-group', 'system:masters'],
      ['X-Remote-Extra-Scopes', 'x'],
      ['Proxy-Authorization', 'Basic y'],
      ['Cookie', 'postern_session=s'],
      ['X-Forwarded-For', '1.2.3.4'],
      ['Forwarded', 'for=1.2.3.4'],
      ['Host', 'evil'],
      ['Accept-Encoding', 'gzip'],
      ['Accept', 'application/vnd.kubernetes.protobuf'],
      ['User-Agent', 'kubectl/v1.31'],
      ['Content-Type', 'application/json'],
    ];
    const out = upstreamHeaders(client, alice, token, { impersonate: true });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.headers).toEqual([
      ['user-agent', 'kubectl/v1.31'],
      ['content-type', 'application/json'],
      ['authorization', 'Bearer sa-token-abc'],
      ['impersonate-user', 'alice@example.com'],
      ['impersonate-group', 'dev'],
      ['impersonate-group', 'sre'],
    ]);
  });

  it('drops hop-by-hop headers and the ones Connection lists, and names that are not tokens', () => {
    const out = upstreamHeaders(
      [
        ['Connection', 'keep-alive, X-Secret-Hop'],
        ['X-Secret-Hop', '1'],
        ['Keep-Alive', 'timeout=5'],
        ['Transfer-Encoding', 'chunked'],
        ['TE', 'trailers'],
        ['Upgrade', 'websocket'],
        ['Bad Name', 'x'],
        ['X-Ok', 'fine'],
        ['X-Split', 'a\r\nImpersonate-User: root'],
      ],
      alice,
      { kind: 'client-certificate' },
      { impersonate: false },
    );
    expect(out).toEqual({ ok: true, headers: [['x-ok', 'fine']] });
  });

  it('impersonates by subject or with a group prefix when the connection says so', () => {
    const out = upstreamHeaders([], { ...alice, email: undefined }, token, {
      impersonate: true,
      groupPrefix: 'postern:',
    });
    expect(out.ok && out.headers.slice(1)).toEqual([
      ['impersonate-user', 'https://id.test#u1'],
      ['impersonate-group', 'postern:dev'],
      ['impersonate-group', 'postern:sre'],
    ]);
    expect(
      names(
        (upstreamHeaders([], alice, token, { impersonate: false }) as { headers: Array<[string, string]> })
          .headers,
      ),
    ).toEqual(['authorization']);
  });

  it('refuses an identity that does not fit a header rather than altering it', () => {
    for (const caller of [
      { ...alice, email: 'a\r\nx@example.com' },
      { ...alice, groups: ['ok', 'bad\ngroup'] },
      { ...alice, groups: ['é'] },
      { ...alice, groups: Array.from({ length: 300 }, (_, i) => `g${i}`) },
    ]) {
      expect(
        upstreamHeaders([], caller, token, { impersonate: true }).ok,
        JSON.stringify(caller).slice(0, 80),
      ).toBe(false);
    }
    expect(upstreamHeaders([], alice, { kind: 'bearer', token: 'a b' }, { impersonate: false }).ok).toBe(
      false,
    );
  });
});
