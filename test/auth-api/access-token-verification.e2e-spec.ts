import { createServer } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock, SigningKeyService } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import {
  base64url,
  createRemoteJWKSet,
  type CryptoKey,
  decodeJwt,
  decodeProtectedHeader,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { givenCookieSession, givenUser, SESSION_REVOKED, type TestUser } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const FIRST_PARTY_NAME = 'Gatehouse first-party apps';
const DEFAULT_ISSUER = 'http://localhost:3000';
const ACCESS_TOKEN_TTL = 900;
const SECOND = 1000;
const CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
/** RFC 7518 §6: the parameters that hold private (or symmetric) key material. */
const PRIVATE_JWK_PARAMETERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const INVALID_TOKEN = {
  statusCode: 401,
  error: 'INVALID_TOKEN',
  message: 'The access token is not valid.',
};
const TOKEN_EXPIRED = {
  statusCode: 401,
  error: 'TOKEN_EXPIRED',
  message: 'The access token has expired.',
};
interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** The password grant of the first-party public client, form-encoded as a native app sends it. */
function passwordGrant(
  app: NestFastifyApplication,
  user: TestUser,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({
      grant_type: 'password',
      client_id: FIRST_PARTY,
      username: user.email,
      password: user.password,
    }).toString(),
  });
}

async function givenTokens(app: NestFastifyApplication, user: TestUser): Promise<TokenResponse> {
  const response = await passwordGrant(app, user);
  expect(response.statusCode).toBe(200);
  return response.json<TokenResponse>();
}

function withBearer(
  app: NestFastifyApplication,
  token: string,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers } });
}

function expectRefused(response: LightMyRequestResponse, body: object): void {
  expect({
    status: response.statusCode,
    body: response.json<unknown>(),
    challenge: response.headers['www-authenticate'],
  }).toEqual({ status: 401, body, challenge: CHALLENGE });
}

/** A TCP port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('port')),
      );
    });
  });
}

const encoder = new TextEncoder();

/** A copy of `record` without the named properties. */
function without(record: object, ...names: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => !names.includes(name)));
}
const segment = (value: object) => base64url.encode(JSON.stringify(value));

describe('bearer access tokens on auth-api', () => {
  let app: NestFastifyApplication;
  let keys: SigningKeyService;
  let user: TestUser;
  let tokens: TokenResponse;

  beforeAll(async () => {
    app = await givenAuthApi();
    keys = app.get(SigningKeyService);
    user = await givenUser(app);
    tokens = await givenTokens(app, user);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => app.close());

  async function keyRow(status: 'active' | 'next') {
    const row = (await keys.list()).find((key) => key.status === status);
    expect(row).toBeDefined();
    return row!;
  }

  describe('POST /oauth/token with the password grant', () => {
    it('answers a bearer access token for 900 s, a refresh token and the default account scope', async () => {
      const response = await passwordGrant(app, user);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL,
        refresh_token: expect.any(String),
        scope: 'account',
      });
    });

    it('signs an ES256 at+jwt with the active key and the documented claims', async () => {
      const active = await keyRow('active');
      expect(decodeProtectedHeader(tokens.access_token)).toEqual({
        alg: 'ES256',
        kid: active.kid,
        typ: 'at+jwt',
      });
      const claims = decodeJwt(tokens.access_token);
      expect(claims).toEqual({
        iss: DEFAULT_ISSUER,
        sub: user.id,
        aud: 'gatehouse',
        iat: expect.any(Number),
        exp: claims.iat! + ACCESS_TOKEN_TTL,
        jti: expect.stringMatching(UUID),
        sid: expect.stringMatching(UUID),
        scope: 'account',
        roles: [],
        client_id: FIRST_PARTY,
        amr: ['pwd'],
        acr: 'urn:gatehouse:acr:pwd',
        auth_time: expect.any(Number),
      });
      // The session's sign-in, a moment before signing: the two can fall in different seconds.
      expect(claims['auth_time']).toBeLessThanOrEqual(claims.iat!);
      expect(claims['auth_time']).toBeGreaterThanOrEqual(claims.iat! - 5);
    });

    it('gives every token its own jti and every grant its own session', async () => {
      const second = await givenTokens(app, user);
      const [a, b] = [decodeJwt(tokens.access_token), decodeJwt(second.access_token)];
      expect(a.jti).not.toBe(b.jti);
      expect(a['sid']).not.toBe(b['sid']);
    });
  });

  describe('GET /.well-known/openid-configuration', () => {
    it('describes the token endpoints, the key set and the audience, cacheable for an hour', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/.well-known/openid-configuration',
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=3600');
      expect(response.json()).toEqual({
        issuer: DEFAULT_ISSUER,
        authorization_endpoint: `${DEFAULT_ISSUER}/oauth/authorize`,
        token_endpoint: `${DEFAULT_ISSUER}/oauth/token`,
        jwks_uri: `${DEFAULT_ISSUER}/.well-known/jwks.json`,
        userinfo_endpoint: `${DEFAULT_ISSUER}/oauth/userinfo`,
        introspection_endpoint: `${DEFAULT_ISSUER}/oauth/introspect`,
        revocation_endpoint: `${DEFAULT_ISSUER}/oauth/revoke`,
        device_authorization_endpoint: `${DEFAULT_ISSUER}/oauth/device_authorization`,
        end_session_endpoint: `${DEFAULT_ISSUER}/oauth/end_session`,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        grant_types_supported: [
          'authorization_code',
          'password',
          'refresh_token',
          'client_credentials',
          'urn:ietf:params:oauth:grant-type:device_code',
          'urn:gatehouse:params:oauth:grant-type:mfa-otp',
        ],
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        scopes_supported: ['openid', 'email'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        acr_values_supported: ['urn:gatehouse:acr:pwd', 'urn:gatehouse:acr:mfa', 'phr'],
        claims_supported: [
          'sub',
          'iss',
          'aud',
          'exp',
          'iat',
          'auth_time',
          'amr',
          'acr',
          'nonce',
          'sid',
          'at_hash',
          'email',
          'email_verified',
        ],
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'none',
        ],
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
        ],
        revocation_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'none',
        ],
        gatehouse_access_token_audience: 'gatehouse',
        gatehouse_access_token_signing_alg_values_supported: ['ES256', 'RS256', 'EdDSA'],
      });
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the active and the next public keys, cacheable for five minutes', async () => {
      const [active, next] = [await keyRow('active'), await keyRow('next')];
      const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=300');
      const { keys: published } = response.json<{ keys: JWK[] }>();
      expect(published).toEqual(expect.arrayContaining([active.publicJwk, next.publicJwk]));
      for (const row of [active, next]) {
        expect(row.publicJwk).toEqual({
          kty: 'EC',
          crv: 'P-256',
          x: expect.any(String),
          y: expect.any(String),
          kid: row.kid,
          alg: 'ES256',
          use: 'sig',
        });
      }
    });

    it('never publishes a private key parameter', async () => {
      const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      const { keys: published } = response.json<{ keys: JWK[] }>();
      expect(published.length).toBeGreaterThanOrEqual(2);
      for (const key of published) {
        expect(Object.keys(key).filter((name) => PRIVATE_JWK_PARAMETERS.has(name))).toEqual([]);
      }
    });
  });

  describe('a valid bearer token', () => {
    it('authenticates GET /me as its user, through its token session', async () => {
      const sid = decodeJwt(tokens.access_token)['sid'] as string;
      const response = await withBearer(app, tokens.access_token, 'GET', '/me');
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.json()).toEqual({
        user: {
          id: user.id,
          email: user.email,
          emailVerified: false,
          roles: [],
          createdAt: expect.any(String),
        },
        session: {
          id: sid,
          kind: 'token',
          createdAt: expect.any(String),
          lastSeenAt: expect.any(String),
          idleExpiresAt: expect.any(String),
          expiresAt: expect.any(String),
          ip: '127.0.0.1',
          userAgent: 'lightMyRequest',
          client: { id: FIRST_PARTY, name: FIRST_PARTY_NAME },
          amr: ['pwd'],
          authTime: expect.any(String),
          identityProvider: null,
        },
      });
    });

    it('lists its token session as the current one on GET /me/sessions', async () => {
      const owner = await givenUser(app);
      const own = await givenTokens(app, owner);
      const cookie = await givenCookieSession(app, owner);
      const response = await withBearer(app, own.access_token, 'GET', '/me/sessions');
      expect(response.statusCode).toBe(200);
      const listed = response.json<{ id: string; kind: string; current: boolean }[]>();
      expect(listed.map(({ id, kind, current }) => ({ id, kind, current }))).toEqual([
        { id: cookie.sessionId, kind: 'cookie', current: false },
        { id: decodeJwt(own.access_token)['sid'], kind: 'token', current: true },
      ]);
      expect(listed[1]).toEqual({
        id: decodeJwt(own.access_token)['sid'],
        kind: 'token',
        createdAt: expect.any(String),
        lastSeenAt: expect.any(String),
        idleExpiresAt: expect.any(String),
        expiresAt: expect.any(String),
        ip: '127.0.0.1',
        userAgent: 'lightMyRequest',
        client: { id: FIRST_PARTY, name: FIRST_PARTY_NAME },
        amr: ['pwd'],
        authTime: expect.any(String),
        identityProvider: null,
        current: true,
      });
    });

    it('makes writes without the CSRF origin check: revoke-others from a foreign origin succeeds', async () => {
      const owner = await givenUser(app);
      const own = await givenTokens(app, owner);
      const cookie = await givenCookieSession(app, owner);
      const response = await withBearer(
        app,
        own.access_token,
        'POST',
        '/me/sessions/revoke-others',
        { origin: 'https://evil.example' },
      );
      expect({ status: response.statusCode, body: response.json<unknown>() }).toEqual({
        status: 200,
        body: { revoked: 1 },
      });
      const withEndedCookie = await app.inject({
        method: 'GET',
        url: '/me',
        headers: { cookie: cookie.cookie },
      });
      expect(withEndedCookie.statusCode).toBe(401);
      expect((await withBearer(app, own.access_token, 'GET', '/me')).statusCode).toBe(200);
    });

    it('is accepted when it expired less than the 30 s clock tolerance ago', async () => {
      vi.spyOn(app.get(Clock), 'now').mockReturnValue(
        new Date(Date.now() - (ACCESS_TOKEN_TTL + 10) * SECOND),
      );
      const lateTokens = await givenTokens(app, user);
      vi.restoreAllMocks();
      expect(decodeJwt(lateTokens.access_token).exp! * SECOND).toBeLessThan(Date.now());
      const response = await withBearer(app, lateTokens.access_token, 'GET', '/me');
      expect(response.statusCode).toBe(200);
    });
  });

  describe('a refused bearer token', () => {
    /** The payload of the genuine token, to forge look-alikes with. */
    const genuineClaims = () => decodeJwt(tokens.access_token);

    async function activePublicJwk(): Promise<JWK & { kid: string; x: string }> {
      return (await keyRow('active')).publicJwk as JWK & { kid: string; x: string };
    }

    async function hs256KeyedWith(secret: Uint8Array): Promise<string> {
      const { kid } = await activePublicJwk();
      return new SignJWT(genuineClaims())
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
        .sign(secret);
    }

    /** Signed with the app's own active key: only the given difference makes it wrong. */
    async function signedByTheApp(
      claims: Record<string, unknown>,
      header: Record<string, unknown> = { typ: 'at+jwt' },
    ): Promise<string> {
      const { kid, alg, key } = await keys.activeKey();
      return new SignJWT(claims).setProtectedHeader({ ...header, alg, kid }).sign(key);
    }

    /** A second app on the same database signs with the same keys, under its own configuration. */
    async function tokenOfSiblingApp(env: Record<string, string>): Promise<string> {
      const sibling = await givenAuthApi(env);
      try {
        return (await givenTokens(sibling, user)).access_token;
      } finally {
        await sibling.close();
      }
    }

    it('is accepted when built by the forging harness with nothing wrong (control)', async () => {
      const control = await signedByTheApp(genuineClaims());
      expect((await withBearer(app, control, 'GET', '/me')).statusCode).toBe(200);
    });

    it.each<[string, () => Promise<string>]>([
      ['is not a JWT at all', () => Promise.resolve('not-a-jwt')],
      [
        'is unsigned (alg none, as jose encodes it)',
        () => Promise.resolve(new UnsecuredJWT(genuineClaims()).encode()),
      ],
      [
        'is unsigned (alg none) but names the active kid and typ at+jwt',
        async () => {
          const { kid } = await activePublicJwk();
          return `${segment({ alg: 'none', kid, typ: 'at+jwt' })}.${segment(genuineClaims())}.`;
        },
      ],
      [
        'has its signature stripped',
        () => Promise.resolve(tokens.access_token.replace(/[^.]+$/, '')),
      ],
      [
        'is HS256 keyed with the JSON of the public JWK',
        async () => hs256KeyedWith(encoder.encode(JSON.stringify(await activePublicJwk()))),
      ],
      [
        'is HS256 keyed with the public key PEM',
        async () => {
          const publicKey = await importJWK(await activePublicJwk(), 'ES256', {
            extractable: true,
          });
          return hs256KeyedWith(encoder.encode(await exportSPKI(publicKey as CryptoKey)));
        },
      ],
      [
        'is HS256 keyed with the bytes of the public x coordinate',
        async () => hs256KeyedWith(base64url.decode((await activePublicJwk()).x)),
      ],
      [
        'is signed by a stranger key under an unknown kid',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          return new SignJWT(genuineClaims())
            .setProtectedHeader({ alg: 'ES256', kid: 'stranger-key', typ: 'at+jwt' })
            .sign(privateKey);
        },
      ],
      [
        'is signed by a stranger key that claims the active kid',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          const { kid } = await activePublicJwk();
          return new SignJWT(genuineClaims())
            .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
            .sign(privateKey);
        },
      ],
      [
        'is genuine with one byte of the payload changed (another sub)',
        () => {
          const [header, payload, signature] = tokens.access_token.split('.');
          const json = new TextDecoder().decode(base64url.decode(payload!));
          const sub = user.id;
          const tampered = `${sub[0] === 'a' ? 'b' : 'a'}${sub.slice(1)}`;
          const changed = json.replace(`"sub":"${sub}"`, `"sub":"${tampered}"`);
          expect(changed).not.toBe(json);
          return Promise.resolve(`${header}.${base64url.encode(changed)}.${signature}`);
        },
      ],
      [
        'is genuine but for another audience',
        () => tokenOfSiblingApp({ ACCESS_TOKEN_AUDIENCE: 'other' }),
      ],
      [
        'is genuine but from another issuer',
        () => tokenOfSiblingApp({ ISSUER: 'http://elsewhere.example' }),
      ],
      [
        'is signed by the app key but typed JWT instead of at+jwt',
        () => signedByTheApp(genuineClaims(), { typ: 'JWT' }),
      ],
      ['is signed by the app key without a typ', () => signedByTheApp(genuineClaims(), {})],
      [
        'is signed by the app key without an exp',
        () => signedByTheApp(without(genuineClaims(), 'exp')),
      ],
      [
        'is signed by the app key without a client_id',
        () => signedByTheApp(without(genuineClaims(), 'client_id')),
      ],
    ])('answers 401 INVALID_TOKEN when the token %s', async (_name, forge) => {
      const token = await forge();
      expectRefused(await withBearer(app, token, 'GET', '/me'), INVALID_TOKEN);
    });

    it('answers 401 INVALID_TOKEN on writes too, even from a trusted origin', async () => {
      const forged = new UnsecuredJWT(genuineClaims()).encode();
      const response = await withBearer(app, forged, 'POST', '/me/sessions/revoke-others', {
        origin: DEFAULT_ISSUER,
      });
      expectRefused(response, INVALID_TOKEN);
    });

    it('is not rescued by a valid session cookie sent alongside', async () => {
      const cookie = await givenCookieSession(app, user);
      const response = await withBearer(app, 'not-a-jwt', 'GET', '/me', { cookie: cookie.cookie });
      expectRefused(response, INVALID_TOKEN);
    });

    it.each([
      ['20 minutes', 20 * 60],
      ['a minute', 60],
    ])(
      'answers 401 TOKEN_EXPIRED when it expired %s ago, beyond the 30 s tolerance',
      async (_label, secondsAgo) => {
        vi.spyOn(app.get(Clock), 'now').mockReturnValue(
          new Date(Date.now() - (ACCESS_TOKEN_TTL + secondsAgo) * SECOND),
        );
        const stale = await givenTokens(app, user);
        vi.restoreAllMocks();
        expect(decodeJwt(stale.access_token).exp! * SECOND).toBeLessThanOrEqual(
          Date.now() - secondsAgo * SECOND,
        );
        expectRefused(await withBearer(app, stale.access_token, 'GET', '/me'), TOKEN_EXPIRED);
      },
    );

    it('answers 401 SESSION_REVOKED once its session is revoked at POST /oauth/revoke', async () => {
      const own = await givenTokens(app, user);
      expect((await withBearer(app, own.access_token, 'GET', '/me')).statusCode).toBe(200);
      const revocation = await app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        payload: { token: own.refresh_token, client_id: FIRST_PARTY },
      });
      expect(revocation.statusCode).toBe(200);
      expectRefused(await withBearer(app, own.access_token, 'GET', '/me'), SESSION_REVOKED);
    });

    it('answers 401 SESSION_REVOKED once the user ends that session at DELETE /me/sessions/:id', async () => {
      const own = await givenTokens(app, user);
      const sid = decodeJwt(own.access_token)['sid'] as string;
      const ended = await withBearer(app, own.access_token, 'DELETE', `/me/sessions/${sid}`);
      expect(ended.statusCode).toBe(204);
      expectRefused(
        await withBearer(app, own.access_token, 'GET', '/me/sessions'),
        SESSION_REVOKED,
      );
    });
  });
});

describe('remote verification of access tokens (a resource server with jose)', () => {
  let app: NestFastifyApplication;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await givenAuthApi({ ISSUER: issuer });
    await app.listen(port, '127.0.0.1');
  });
  afterAll(() => app.close());

  interface Discovery {
    issuer: string;
    jwks_uri: string;
    token_endpoint: string;
    gatehouse_access_token_audience: string;
  }

  async function discover(): Promise<Discovery> {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    return (await response.json()) as Discovery;
  }

  async function grant(discovery: Discovery): Promise<TokenResponse> {
    const user = await givenUser(app);
    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: FIRST_PARTY,
        username: user.email,
        password: user.password,
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as TokenResponse;
  }

  it('verifies a password-grant token against the JWKS, issuer and audience the discovery names', async () => {
    const discovery = await discover();
    expect(discovery).toMatchObject({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      gatehouse_access_token_audience: 'gatehouse',
    });
    const { access_token } = await grant(discovery);
    const { payload, protectedHeader } = await jwtVerify(
      access_token,
      createRemoteJWKSet(new URL(discovery.jwks_uri)),
      {
        issuer: discovery.issuer,
        audience: discovery.gatehouse_access_token_audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256', 'EdDSA'],
      },
    );
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: issuer, aud: 'gatehouse', client_id: FIRST_PARTY });
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const discovery = await discover();
    const { access_token } = await grant(discovery);
    const [header, payload, signature] = access_token.split('.');
    const claims = decodeJwt(access_token);
    const forged = `${header}.${segment({ ...claims, roles: ['admin'] })}.${signature}`;
    expect(payload).not.toBe(forged.split('.')[1]);
    await expect(
      jwtVerify(forged, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
        issuer: discovery.issuer,
        audience: discovery.gatehouse_access_token_audience,
      }),
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});
