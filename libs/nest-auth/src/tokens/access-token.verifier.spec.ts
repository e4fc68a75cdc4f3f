import { errors, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { localKeySource } from '../keys/key-sources.js';
import { AccessTokenVerifier, type AccessTokenVerifierOptions } from './access-token.verifier.js';

async function setUp() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const load = vi.fn(() => Promise.resolve({ keys: [jwk] }));
  const keys = localKeySource(load);
  const resolver = vi.fn(keys);
  const sign = (claims: Record<string, unknown>, expiresInSeconds = 900) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: 'app', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer('https://issuer.example')
      .setAudience('gatehouse')
      .setSubject('user-1')
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(privateKey);
  };
  const verifier = (options: Partial<AccessTokenVerifierOptions> = {}) =>
    new AccessTokenVerifier({
      issuer: 'https://issuer.example',
      audience: 'gatehouse',
      keys: resolver,
      ...options,
    });
  return { resolver, sign, verifier };
}

describe('AccessTokenVerifier cache of verified tokens', () => {
  afterEach(() => vi.useRealTimers());

  it('checks a signature once per token, but revocation on every request', async () => {
    const { resolver, sign, verifier: verifierWith } = await setUp();
    const revoked = new Set<string>();
    const verifier = verifierWith({
      isSessionRevoked: (sid) => Promise.resolve(revoked.has(sid)),
    });
    const token = await sign({ sid: 's1' });
    await verifier.verify(token);
    await verifier.verify(token);
    expect(resolver).toHaveBeenCalledTimes(1);
    revoked.add('s1');
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
  });

  it('still refuses a cached token once it has expired (beyond the tolerance)', async () => {
    const { sign: signWithKey, verifier } = await setUp();
    const cached = verifier();
    const token = await signWithKey({ sid: 's1' }, 60);
    await cached.verify(token);
    vi.useFakeTimers({ now: Date.now() + 89_000 });
    await expect(cached.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
    vi.setSystemTime(Date.now() + 2_000);
    await expect(cached.verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('recalls only the very token it verified: its signature on another payload is verified anew', async () => {
    const { resolver, sign, verifier: verifierWith } = await setUp();
    const verifier = verifierWith();
    const token = await sign({ sid: 's1', roles: [] });
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const raised = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        roles: ['admin'],
      }),
    ).toString('base64url');
    const forged = `${header}.${raised}.${signature}`;
    expect(verifier.rules().recall(forged)).toBeUndefined();
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    expect(resolver).toHaveBeenCalledTimes(2);
    // The forgery took nothing from the real token's entry.
    expect(verifier.rules().recall(token)).toMatchObject({ sid: 's1', roles: [] });
  });

  it('refuses a token with whitespace in it, signature and all, and never caches one', async () => {
    const { resolver, sign, verifier: verifierWith } = await setUp();
    const verifier = verifierWith();
    const token = await sign({ sid: 's1' });
    const spaced = `${token.slice(0, -4)} ${token.slice(-4)}`;
    await expect(verifier.verify(spaced)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    expect(resolver).not.toHaveBeenCalled();
    // Nor through the strategy's door (passport-jwt verified it, the guard remembers it).
    verifier.rules().remember(spaced, await verifier.verify(token));
    expect(verifier.rules().recall(spaced)).toBeUndefined();
  });

  it('never caches a token that failed verification', async () => {
    const { resolver, sign, verifier: verifierWith } = await setUp();
    const verifier = verifierWith({ audience: 'other-audience' });
    const token = await sign({});
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    expect(resolver).toHaveBeenCalledTimes(2);
  });
});

describe('AccessTokenVerifier when the key set cannot be fetched', () => {
  const verifierWith = (keys: () => Promise<never>) =>
    new AccessTokenVerifier({ issuer: 'https://issuer.example', audience: 'gatehouse', keys });

  it.each([
    ['a network failure', new TypeError('fetch failed')],
    ['a JWKS timeout', new errors.JWKSTimeout()],
    ['a non-200 JWKS answer', new errors.JOSEError('Expected 200 OK from the JSON Web Key Set')],
  ])('answers 503 VERIFICATION_UNAVAILABLE for %s, not 401', async (_case, failure) => {
    const { sign } = await setUp();
    const verifier = verifierWith(() => Promise.reject(failure));
    await expect(verifier.verify(await sign({ sid: 's1' }))).rejects.toMatchObject({
      code: 'VERIFICATION_UNAVAILABLE',
    });
  });

  it('still answers 401 INVALID_TOKEN for a kid the key set does not have', async () => {
    const { sign } = await setUp();
    const verifier = verifierWith(() => Promise.reject(new errors.JWKSNoMatchingKey()));
    await expect(verifier.verify(await sign({ sid: 's1' }))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
  });
});
