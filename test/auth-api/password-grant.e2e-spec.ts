import { randomInt, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import {
  COOKIE_NAME,
  givenCookieSession,
  login,
  setCookies,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const FIRST_PARTY_CLIENT_ID = 'gatehouse-first-party';
const FIRST_PARTY_CLIENT = { id: FIRST_PARTY_CLIENT_ID, name: 'Gatehouse first-party apps' };
const WRONG_PASSWORD = 'not the right password at all';
const USER_AGENT = 'GatehouseMobile/2.1 (e2e)';

const INVALID_GRANT = {
  error: 'invalid_grant',
  error_description: 'The username or password is incorrect.',
};
const RATE_LIMITED = {
  error: 'rate_limited',
  error_description: 'Too many attempts. Retry later.',
};

type Params = Readonly<Record<string, string | readonly string[]>>;

interface RequestOptions {
  readonly remoteAddress?: string;
  readonly authorization?: string;
}

interface TokenBody {
  readonly access_token: string;
  readonly refresh_token: string;
}

/** A client IP of its own: per-IP counters (in Redis, shared by concurrent runs) never collide. */
function randomIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
}

/** `POST /oauth/token` form-encoded, as RFC 6749 clients send it (a repeated name is sent twice). */
function tokenForm(
  app: NestFastifyApplication,
  params: Params,
  { remoteAddress = randomIp(), authorization }: RequestOptions = {},
): Promise<LightMyRequestResponse> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of [value].flat()) {
      form.append(name, item);
    }
  }
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': USER_AGENT,
      ...(authorization ? { authorization } : {}),
    },
    payload: form.toString(),
    remoteAddress,
  });
}

/** The password grant of the first-party app. */
function passwordGrant(
  app: NestFastifyApplication,
  credentials: { email: string; password: string },
  options: RequestOptions & { readonly extra?: Params } = {},
): Promise<LightMyRequestResponse> {
  return tokenForm(
    app,
    {
      grant_type: 'password',
      client_id: FIRST_PARTY_CLIENT_ID,
      username: credentials.email,
      password: credentials.password,
      ...options.extra,
    },
    options,
  );
}

/**
 * Registers through the API like `givenUser`, but from an IP of its own: registration spends the IP
 * budget too, and the default inject address (127.0.0.1) is shared with every other test.
 */
async function givenAccount(app: NestFastifyApplication): Promise<TestUser> {
  const email = uniqueEmail('grant');
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: STRONG_PASSWORD },
    remoteAddress: randomIp(),
  });
  expect(response.statusCode).toBe(201);
  return { id: response.json<{ id: string }>().id, email, password: STRONG_PASSWORD };
}

function wrong(user: Pick<TestUser, 'email'>): { email: string; password: string } {
  return { email: user.email, password: WRONG_PASSWORD };
}

/** Tokens for the user through the password grant; `sessionId` is the access token's `sid`. */
async function givenTokens(
  app: NestFastifyApplication,
  user: TestUser,
): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
  const response = await passwordGrant(app, user);
  expect(response.statusCode).toBe(200);
  const body = response.json<TokenBody>();
  const { sid } = decodeJwt(body.access_token);
  expect(sid).toEqual(expect.any(String));
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    sessionId: sid as string,
  };
}

function expectOAuthError(
  response: LightMyRequestResponse,
  status: number,
  body: { error: string; error_description: string },
): void {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual(body);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['pragma']).toBe('no-cache');
}

function expectRateLimited(response: LightMyRequestResponse): void {
  expectOAuthError(response, 429, RATE_LIMITED);
  const retryAfter = response.headers['retry-after'];
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(900);
}

/** Response headers that must not differ between failure kinds (all but the per-response ones). */
function stableHeaders(response: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name !== 'date' && name !== 'x-request-id'),
  );
}

describe('POST /oauth/token with grant_type=password', () => {
  let app: NestFastifyApplication;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  const sessionsOf = (user: TestUser) =>
    dataSource.query<{ id: string }[]>('SELECT id FROM sessions WHERE user_id = $1', [user.id]);

  describe('the first-party client', () => {
    it('gets a bearer access token and a refresh token, never cached', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user);

      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        scope: 'account',
      });
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
      expect(response.headers['set-cookie']).toBeUndefined();
    });

    it('gets a JWT access token for the user, bound to the new session', async () => {
      const user = await givenAccount(app);
      const { access_token: accessToken } = (await passwordGrant(app, user)).json<TokenBody>();

      expect(decodeProtectedHeader(accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      const claims = decodeJwt(accessToken);
      expect(claims).toEqual({
        iss: 'http://localhost:3000',
        aud: 'gatehouse',
        sub: user.id,
        client_id: FIRST_PARTY_CLIENT_ID,
        sid: expect.any(String),
        scope: 'account',
        roles: [],
        amr: ['pwd'],
        acr: 'urn:gatehouse:acr:pwd',
        auth_time: expect.any(Number),
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
      // auth_time is the sign-in this grant made (its session's start), in whole seconds; the token
      // is signed a moment later, which may fall in the next second.
      const [session] = await dataSource.query<{ authTime: Date }[]>(
        'SELECT COALESCE(auth_time, created_at) AS "authTime" FROM sessions WHERE id = $1',
        [claims.sid],
      );
      expect(claims['auth_time']).toBe(Math.floor(session!.authTime.getTime() / 1000));
      expect(claims.iat! - (claims['auth_time'] as number)).toBeGreaterThanOrEqual(0);
      expect(claims.iat! - (claims['auth_time'] as number)).toBeLessThanOrEqual(1);
      expect(claims.exp! - claims.iat!).toBe(900);
      expect(await sessionsOf(user)).toEqual([{ id: claims.sid }]);
    });

    it('is also answered when the request is JSON', async () => {
      const user = await givenAccount(app);
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: {
          grant_type: 'password',
          client_id: FIRST_PARTY_CLIENT_ID,
          username: user.email,
          password: user.password,
        },
        remoteAddress: randomIp(),
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'account',
      });
    });

    it('signs in whatever the letter case and surrounding spaces of the username', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, {
        email: `  ${user.email.toUpperCase()} `,
        password: user.password,
      });
      expect(response.statusCode).toBe(200);
      expect(decodeJwt(response.json<TokenBody>().access_token).sub).toBe(user.id);
    });

    it('starts a token session for the client, with no cookie token and the account scope', async () => {
      const user = await givenAccount(app);
      const ip = randomIp();
      const response = await passwordGrant(app, user, { remoteAddress: ip });
      const sessionId = decodeJwt(response.json<TokenBody>().access_token).sid;

      const rows = await dataSource.query<Record<string, unknown>[]>(
        `SELECT user_id, kind, client_id, token_hash, scope, host(ip) AS ip, user_agent,
                revoked_at
         FROM sessions WHERE id = $1`,
        [sessionId],
      );
      expect(rows).toEqual([
        {
          user_id: user.id,
          kind: 'token',
          client_id: FIRST_PARTY_CLIENT_ID,
          token_hash: null,
          scope: 'account',
          ip,
          user_agent: USER_AGENT,
          revoked_at: null,
        },
      ]);
    });

    it('records login.succeeded with the session, its kind and the client', async () => {
      const user = await givenAccount(app);
      const { sessionId } = await givenTokens(app, user);
      const events = await dataSource.query<Record<string, unknown>[]>(
        `SELECT actor, action, subject, details FROM audit_events
         WHERE subject = $1 AND action = 'login.succeeded' ORDER BY id`,
        [`user:${user.id}`],
      );
      expect(events).toEqual([
        {
          actor: `user:${user.id}`,
          action: 'login.succeeded',
          subject: `user:${user.id}`,
          details: { sessionId, kind: 'token', clientId: FIRST_PARTY_CLIENT_ID },
        },
      ]);
    });

    it('ignores parameters it does not know', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user, {
        extra: { audience: 'elsewhere', nonce: 'n-0S6_WzA2Mj', state: 'xyz' },
      });
      expect(response.statusCode).toBe(200);
    });
  });

  describe('wrong credentials', () => {
    it('answers a wrong password, an unknown email and a disabled account with byte-identical invalid_grant', async () => {
      const known = await givenAccount(app);
      const disabled = await givenAccount(app);
      await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.id]);
      const ip = randomIp();

      const unknown = await passwordGrant(
        app,
        { email: uniqueEmail('nobody'), password: STRONG_PASSWORD },
        { remoteAddress: ip },
      );
      const wrongPassword = await passwordGrant(app, wrong(known), { remoteAddress: ip });
      const disabledAccount = await passwordGrant(app, disabled, { remoteAddress: ip });

      expectOAuthError(unknown, 400, INVALID_GRANT);
      for (const response of [wrongPassword, disabledAccount]) {
        expect(response.statusCode).toBe(unknown.statusCode);
        expect(response.body).toBe(unknown.body);
        expect(stableHeaders(response)).toEqual(stableHeaders(unknown));
      }
      expect(unknown.headers['www-authenticate']).toBeUndefined();
      expect(await sessionsOf(known)).toEqual([]);
      expect(await sessionsOf(disabled)).toEqual([]);
    });

    it('records login.failed with the reason, never the password', async () => {
      const user = await givenAccount(app);
      await passwordGrant(app, wrong(user));
      const events = await dataSource.query<Record<string, unknown>[]>(
        `SELECT actor, action, subject, details FROM audit_events
         WHERE details->>'email' = $1 ORDER BY id`,
        [user.email],
      );
      expect(events).toEqual([
        {
          actor: 'anonymous',
          action: 'login.failed',
          subject: `user:${user.id}`,
          details: { email: user.email, reason: 'wrong_password' },
        },
      ]);
      expect(JSON.stringify(events)).not.toContain(WRONG_PASSWORD);
    });
  });

  describe('request checks', () => {
    it.each(['username', 'password'])('answers invalid_request without %s', async (name) => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user, { extra: { [name]: '' } });
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: `The parameter ${name} is required.`,
      });
    });

    it('answers invalid_request when a parameter is repeated', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user, { extra: { scope: ['a', 'b'] } });
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: 'The parameter scope must be given once, as a string.',
      });
      expect(await sessionsOf(user)).toEqual([]);
    });

    it('answers invalid_scope for a scope the client has not registered, before any session', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user, { extra: { scope: 'notes:read' } });
      expectOAuthError(response, 400, {
        error: 'invalid_scope',
        error_description: 'The requested scope is not registered for this client.',
      });
      expect(await sessionsOf(user)).toEqual([]);
    });

    it('answers 401 invalid_client when no client is named', async () => {
      const user = await givenAccount(app);
      const response = await tokenForm(app, {
        grant_type: 'password',
        username: user.email,
        password: user.password,
      });
      expectOAuthError(response, 401, {
        error: 'invalid_client',
        error_description: 'Client authentication is required.',
      });
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('answers invalid_request when the public first-party client sends a secret', async () => {
      const user = await givenAccount(app);
      const response = await passwordGrant(app, user, { extra: { client_secret: 'guess' } });
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: 'A public client has no secret.',
      });
    });
  });

  describe('other clients', () => {
    it('answers unauthorized_client to a confidential client registered for the password grant', async () => {
      const user = await givenAccount(app);
      const { client, clientSecret } = await app.get(ClientService).create({
        name: `third party ${randomUUID()}`,
        grantTypes: ['password', 'refresh_token'],
      });
      const response = await tokenForm(app, {
        grant_type: 'password',
        client_id: client.id,
        client_secret: clientSecret!,
        username: user.email,
        password: user.password,
      });
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'The password grant is reserved to first-party clients.',
      });
      expect(await sessionsOf(user)).toEqual([]);
    });

    it('answers unauthorized_client to a public third-party client registered for the password grant', async () => {
      const user = await givenAccount(app);
      const { client } = await app.get(ClientService).create({
        name: `native app ${randomUUID()}`,
        grantTypes: ['password'],
        public: true,
      });
      const response = await tokenForm(app, {
        grant_type: 'password',
        client_id: client.id,
        username: user.email,
        password: user.password,
      });
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'The password grant is reserved to first-party clients.',
      });
    });

    it('answers unauthorized_client to a client without the password grant', async () => {
      const user = await givenAccount(app);
      const { client, clientSecret } = await app.get(ClientService).create({
        name: `service ${randomUUID()}`,
        grantTypes: ['client_credentials'],
      });
      const response = await tokenForm(app, {
        grant_type: 'password',
        client_id: client.id,
        client_secret: clientSecret!,
        username: user.email,
        password: user.password,
      });
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'The client may not use the password grant.',
      });
      expect(await sessionsOf(user)).toEqual([]);
    });
  });
});

describe('POST /oauth/token request shape', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  const GRANT_TYPE_REQUIRED = {
    error: 'invalid_request',
    error_description: 'The parameter grant_type is required.',
  };

  it('answers invalid_request without grant_type', async () => {
    const response = await tokenForm(app, { client_id: FIRST_PARTY_CLIENT_ID });
    expectOAuthError(response, 400, GRANT_TYPE_REQUIRED);
  });

  it('answers invalid_request to an empty JSON object', async () => {
    const response = await app.inject({ method: 'POST', url: '/oauth/token', payload: {} });
    expectOAuthError(response, 400, GRANT_TYPE_REQUIRED);
  });

  // Product bug: oauth-params.ts reads `body[name]` from an undefined (or null) body and throws a
  // TypeError, which the OAuth filter renders as 500 server_error.
  it.each([
    ['no body at all', {}],
    ['a JSON null', { headers: { 'content-type': 'application/json' }, payload: 'null' }],
  ])('answers invalid_request to %s', async (_label, request) => {
    const response = await app.inject({ method: 'POST', url: '/oauth/token', ...request });
    expectOAuthError(response, 400, GRANT_TYPE_REQUIRED);
  });

  // Product bug: Fastify's JSON parser fails before the route's OAuth filter runs, so the global REST
  // filter answers `{statusCode: 400, error: 'BAD_REQUEST', message}` without `pragma: no-cache`.
  it('answers invalid_request in the OAuth shape to a body that is not valid JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type": "password",',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'invalid_request',
      error_description: expect.any(String),
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['pragma']).toBe('no-cache');
  });

  it('answers unsupported_grant_type to a grant it does not serve', async () => {
    const response = await tokenForm(app, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      client_id: FIRST_PARTY_CLIENT_ID,
      assertion: 'abc',
    });
    expectOAuthError(response, 400, {
      error: 'unsupported_grant_type',
      error_description:
        'The grant type "urn:ietf:params:oauth:grant-type:jwt-bearer" is not supported.',
    });
  });
});

describe('POST /oauth/token login limits (defaults)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('answers 10 failed password grants for an account with invalid_grant, then 429 rate_limited', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await passwordGrant(app, wrong(user));
      expect(response.statusCode, `attempt ${attempt}`).toBe(400);
    }

    expectRateLimited(await passwordGrant(app, wrong(user)));
    expectRateLimited(await passwordGrant(app, user));
  });

  it('counts failed cookie logins and failed password grants in one budget per account', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response =
        attempt % 2 === 0
          ? await passwordGrant(app, wrong(user))
          : await login(app, wrong(user), { remoteAddress: randomIp() });
      expect(response.statusCode, `attempt ${attempt}`).toBe(attempt % 2 === 0 ? 400 : 401);
    }

    expectRateLimited(await passwordGrant(app, user));
    const cookieLogin = await login(app, user, { remoteAddress: randomIp() });
    expect(cookieLogin.statusCode).toBe(429);
    expect(cookieLogin.json()).toEqual({
      statusCode: 429,
      error: 'RATE_LIMITED',
      message: 'Too many attempts. Retry later.',
    });
  });

  it('locks the password grant after 10 failed cookie logins', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await login(app, wrong(user), { remoteAddress: randomIp() });
      expect(response.statusCode, `attempt ${attempt}`).toBe(401);
    }

    expectRateLimited(await passwordGrant(app, user));
  });

  it('locks the cookie login after 10 failed password grants', async () => {
    const user = await givenAccount(app);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const response = await passwordGrant(app, wrong(user));
      expect(response.statusCode, `attempt ${attempt}`).toBe(400);
    }

    const cookieLogin = await login(app, user, { remoteAddress: randomIp() });
    expect(cookieLogin.statusCode).toBe(429);
    expect(cookieLogin.headers['set-cookie']).toBeUndefined();
  });
});

describe('POST /oauth/token login limits after a successful password grant', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '3' });
  });
  afterAll(() => app.close());

  it('starts the account counter afresh', async () => {
    const user = await givenAccount(app);
    expect((await passwordGrant(app, wrong(user))).statusCode).toBe(400);
    expect((await passwordGrant(app, wrong(user))).statusCode).toBe(400);
    expect((await passwordGrant(app, user)).statusCode).toBe(200);

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const response = await passwordGrant(app, wrong(user));
      expect(response.statusCode, `attempt ${attempt} after the success`).toBe(400);
    }
    expectRateLimited(await passwordGrant(app, wrong(user)));
  });
});

describe('a password-grant access token on auth-api', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

  it('GET /me answers the user and the token session with its client', async () => {
    const user = await givenAccount(app);
    const { accessToken, sessionId } = await givenTokens(app, user);

    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(accessToken) });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      user: {
        id: user.id,
        email: user.email,
        emailVerified: false,
        roles: [],
        createdAt: expect.any(String),
      },
      session: {
        id: sessionId,
        kind: 'token',
        createdAt: expect.any(String),
        lastSeenAt: expect.any(String),
        idleExpiresAt: expect.any(String),
        expiresAt: expect.any(String),
        ip: expect.any(String),
        userAgent: USER_AGENT,
        client: FIRST_PARTY_CLIENT,
        amr: ['pwd'],
        authTime: expect.any(String),
        identityProvider: null,
      },
    });
  });

  it('GET /me/sessions lists the token session as current beside the cookie sessions', async () => {
    const user = await givenAccount(app);
    const cookie = await givenCookieSession(app, user, { remoteAddress: randomIp() });
    const { accessToken, sessionId } = await givenTokens(app, user);

    const response = await app.inject({
      method: 'GET',
      url: '/me/sessions',
      headers: bearer(accessToken),
    });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([
      expect.objectContaining({
        id: sessionId,
        kind: 'token',
        client: FIRST_PARTY_CLIENT,
        current: true,
      }),
      expect.objectContaining({
        id: cookie.sessionId,
        kind: 'cookie',
        client: null,
        current: false,
      }),
    ]);
  });

  it('POST /me/sessions/revoke-others skips the CSRF check and ends the cookie session', async () => {
    const user = await givenAccount(app);
    const cookie = await givenCookieSession(app, user, { remoteAddress: randomIp() });
    const { accessToken } = await givenTokens(app, user);

    const response = await app.inject({
      method: 'POST',
      url: '/me/sessions/revoke-others',
      headers: { ...bearer(accessToken), origin: 'https://evil.example' },
    });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ revoked: 1 });
    const cookieAfter = await withCookie(app, cookie, 'GET', '/me');
    expect(cookieAfter.statusCode).toBe(401);
    expect(cookieAfter.json()).toMatchObject({ error: 'SESSION_REVOKED' });
    expect(setCookies(cookieAfter)[0]).toMatch(new RegExp(`^${COOKIE_NAME}=; Max-Age=0;`));
    const me = await app.inject({ method: 'GET', url: '/me', headers: bearer(accessToken) });
    expect(me.statusCode).toBe(200);
  });
});

describe('FIRST_PARTY_CLIENT_ID', () => {
  const clientId = `acme-apps-${randomUUID()}`;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ FIRST_PARTY_CLIENT_ID: clientId });
  });
  afterAll(() => app.close());

  it('names the public first-party client created at start', async () => {
    const rows = await app
      .get(DataSource)
      .query<Record<string, unknown>[]>(
        'SELECT name, secret_hash, grant_types, scopes, first_party FROM clients WHERE id = $1',
        [clientId],
      );
    expect(rows).toEqual([
      {
        name: 'Gatehouse first-party apps',
        secret_hash: null,
        grant_types: ['password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        scopes: ['openid', 'email', 'offline_access', 'account', 'admin'],
        first_party: true,
      },
    ]);
  });

  it('serves the password grant to that client', async () => {
    const user = await givenAccount(app);
    const response = await tokenForm(app, {
      grant_type: 'password',
      client_id: clientId,
      username: user.email,
      password: user.password,
    });
    expect(response.statusCode).toBe(200);
    expect(decodeJwt(response.json<TokenBody>().access_token).client_id).toBe(clientId);
  });
});
