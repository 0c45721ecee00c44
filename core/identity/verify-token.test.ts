import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey } from 'jose';
import { createTokenVerifier, type TokenVerifier } from './verify-token.ts';
import { parseIssuerConfigs } from './issuer-config.ts';

let server: Server;
let issuer: string;
let rsa: { privateKey: JoseKey; publicKey: JoseKey };
let ec: { privateKey: JoseKey; publicKey: JoseKey };
let other: { privateKey: JoseKey; publicKey: JoseKey };
let publicJwk: Record<string, unknown>;
let verifier: TokenVerifier;
const now = new Date();
const nowS = Math.floor(now.getTime() / 1000);

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
  other = await generateKeyPair('RS256');
  publicJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' };
  const jwks = {
    keys: [publicJwk, { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' }],
  };
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify(jwks));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  issuer = `http://127.0.0.1:${port}`;
  verifier = createTokenVerifier(
    parseIssuerConfigs(
      JSON.stringify([
        { issuer, audience: 'postern', groupsClaim: 'realm.roles', attributeClaims: ['repository', 'ref'] },
      ]),
      {
        allowInsecure: true,
      },
    ),
  );
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function token(
  opts: {
    key?: JoseKey;
    alg?: string;
    kid?: string;
    claims?: Record<string, unknown>;
    iat?: number;
    exp?: number;
    iss?: string;
    aud?: string;
  } = {},
) {
  const jwt = new SignJWT({
    realm: { roles: ['dev', 'ops'] },
    repository: 'acme/app',
    ref: 'refs/heads/main',
    ...opts.claims,
  })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'rsa' })
    .setSubject('workload-1')
    .setIssuer(opts.iss ?? issuer)
    .setAudience(opts.aud ?? 'postern')
    .setIssuedAt(opts.iat ?? nowS - 10)
    .setExpirationTime(opts.exp ?? nowS + 300);
  return jwt.sign(opts.key ?? rsa.privateKey);
}

const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('token verification', () => {
  it('maps a valid RS256 token to an identity with groups from a nested claim and attributes', async () => {
    const id = await verifier.verify(await token(), now);
    expect(id).toMatchObject({
      issuer,
      subject: 'workload-1',
      groups: ['dev', 'ops'],
      attributes: { repository: 'acme/app', ref: 'refs/heads/main' },
    });
  });

  it('accepts ES256 tokens from the same issuer', async () => {
    const id = await verifier.verify(await token({ key: ec.privateKey, alg: 'ES256', kid: 'ec' }), now);
    expect(id.subject).toBe('workload-1');
  });

  it('rejects a token signed by another key', async () => {
    await expect(verifier.verify(await token({ key: other.privateKey }), now)).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    });
  });

  it('rejects an expired token', async () => {
    await expect(
      verifier.verify(await token({ iat: nowS - 600, exp: nowS - 120 }), now),
    ).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('rejects a token that is not valid yet (nbf)', async () => {
    await expect(verifier.verify(await token({ claims: { nbf: nowS + 600 } }), now)).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    });
  });

  it('rejects an untrusted issuer and a wrong audience', async () => {
    await expect(verifier.verify(await token({ iss: 'https://evil.example' }), now)).rejects.toMatchObject({
      code: 'TOKEN_UNTRUSTED_ISSUER',
    });
    await expect(verifier.verify(await token({ aud: 'someone-else' }), now)).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    });
  });

  it('rejects alg:none', async () => {
    const unsigned = `${b64u({ alg: 'none' })}.${b64u({ iss: issuer, aud: 'postern', sub: 'x', iat: nowS, exp: nowS + 60 })}.`;
    await expect(verifier.verify(unsigned, now)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('rejects HS256 signed with the public key as the HMAC secret', async () => {
    const header = b64u({ alg: 'HS256', kid: 'rsa' });
    const payload = b64u({ iss: issuer, aud: 'postern', sub: 'attacker', iat: nowS, exp: nowS + 60 });
    for (const secret of [JSON.stringify(publicJwk), String(publicJwk['n'])]) {
      const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      await expect(verifier.verify(`${header}.${payload}.${sig}`, now)).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      });
    }
  });

  it('rejects tokens living longer than the maximum lifetime, or without exp', async () => {
    await expect(verifier.verify(await token({ exp: nowS + 7200 }), now)).rejects.toThrow(/lifetime/);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setSubject('x')
      .setIssuer(issuer)
      .setAudience('postern')
      .setIssuedAt(nowS)
      .sign(rsa.privateKey);
    await expect(verifier.verify(noExp, now)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('rejects garbage and oversized tokens', async () => {
    await expect(verifier.verify('not-a-jwt', now)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(verifier.verify('a'.repeat(20_000), now)).rejects.toThrow(/too long/);
  });
});

describe('issuer configuration', () => {
  it('is validated when the verifier is built', () => {
    expect(() =>
      parseIssuerConfigs('[{"issuer":"http://x","audience":"a"}]', { allowInsecure: false }),
    ).toThrow(/https/);
    expect(() =>
      parseIssuerConfigs('[{"issuer":"https://x","audience":"a","algorithms":["HS256"]}]', {
        allowInsecure: false,
      }),
    ).toThrow(/HS256 is not allowed/);
    expect(() =>
      parseIssuerConfigs('[{"issuer":"https://x","audience":"a","algorithms":["none"]}]', {
        allowInsecure: false,
      }),
    ).toThrow(/none is not allowed/);
    expect(() => parseIssuerConfigs('[{"issuer":"https://x"}]', { allowInsecure: false })).toThrow(
      /audience/,
    );
    expect(
      parseIssuerConfigs('[{"issuer":"https://x/","audience":"a"}]', { allowInsecure: false })[0],
    ).toMatchObject({ issuer: 'https://x', maxTokenLifetimeSeconds: 3600 });
  });
});
