import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  setCookies,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const EVIL_ORIGIN = 'https://evil.example';

const CSRF_REJECTED = {
  statusCode: 403,
  error: 'CSRF_REJECTED',
  message: 'Cross-site request refused: the request origin is not trusted.',
};

type Method = 'GET' | 'POST' | 'DELETE';

/** A cookie-authenticated request with exactly the given extra headers (no default origin). */
function cookieRequest(
  app: NestFastifyApplication,
  session: Pick<CookieSession, 'cookie'>,
  method: Method,
  url: string,
  headers: Record<string, string> = {},
  payload?: object,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { cookie: session.cookie, ...headers },
    ...(payload ? { payload } : {}),
  });
}

const CSRF_NO_ORIGIN = {
  ...CSRF_REJECTED,
  message:
    'Cross-site request refused: the request has no Origin or Referer header. Send the Origin of a trusted site.',
};

function expectCsrfRejected(
  response: LightMyRequestResponse,
  body: typeof CSRF_REJECTED = CSRF_REJECTED,
): void {
  expect(response.statusCode).toBe(403);
  expect(response.json()).toEqual(body);
  expect(setCookies(response)).toEqual([]);
}

describe('CSRF origin check (default TRUSTED_ORIGINS)', () => {
  let app: NestFastifyApplication;
  let database: Database;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    database = app.get(Database);
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  async function expectAlive(session: CookieSession): Promise<void> {
    const me = await withCookie(app, session, 'GET', '/me');
    expect(me.statusCode).toBe(200);
    expect((await database.sessions.findSummary(session.sessionId))?.revokedAt).toBeNull();
  }

  async function sessionCountOf(userId: string): Promise<number> {
    const rows: { count: number }[] = await dataSource.query(
      'SELECT count(*)::int AS count FROM sessions WHERE user_id = $1',
      [userId],
    );
    return rows[0]!.count;
  }

  describe('POST /auth/logout', () => {
    it('refuses a cookie-authenticated logout from an untrusted origin with 403 CSRF_REJECTED and keeps the session', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      const response = await cookieRequest(app, session, 'POST', '/auth/logout', {
        origin: EVIL_ORIGIN,
      });
      expectCsrfRejected(response);
      await expectAlive(session);
    });

    it('ends the session for a logout from the trusted origin', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      const response = await withCookie(app, session, 'POST', '/auth/logout');
      expect(response.statusCode).toBe(204);
      expect((await database.sessions.findSummary(session.sessionId))?.revokedAt).toBeInstanceOf(
        Date,
      );
    });

    it('refuses a write that carries neither Origin nor Referer, saying the header is missing', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      expectCsrfRejected(await cookieRequest(app, session, 'POST', '/auth/logout'), CSRF_NO_ORIGIN);
      await expectAlive(session);
    });

    it('accepts a trusted Referer when there is no Origin', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      const response = await cookieRequest(app, session, 'POST', '/auth/logout', {
        referer: `${TRUSTED_ORIGIN}/some/page`,
      });
      expect(response.statusCode).toBe(204);
    });

    it('accepts every default trusted origin', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      const response = await cookieRequest(app, session, 'POST', '/auth/logout', {
        origin: 'http://localhost:3001',
      });
      expect(response.statusCode).toBe(204);
    });

    it('refuses an untrusted Referer when there is no Origin', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      expectCsrfRejected(
        await cookieRequest(app, session, 'POST', '/auth/logout', {
          referer: `${EVIL_ORIGIN}/some/page`,
        }),
      );
      await expectAlive(session);
    });

    it('refuses the opaque Origin "null"', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      expectCsrfRejected(
        await cookieRequest(app, session, 'POST', '/auth/logout', { origin: 'null' }),
      );
      await expectAlive(session);
    });

    it('refuses an origin that only starts like a trusted one', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      expectCsrfRejected(
        await cookieRequest(app, session, 'POST', '/auth/logout', {
          origin: `${TRUSTED_ORIGIN}.evil.example`,
        }),
      );
      await expectAlive(session);
    });

    it('skips the origin check for a bearer credential and answers 401 INVALID_TOKEN, not 403', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { authorization: 'Bearer x', origin: EVIL_ORIGIN },
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'INVALID_TOKEN',
        message: 'The access token is not valid.',
      });
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="gatehouse", error="invalid_token"',
      );
    });
  });

  describe('GET /me', () => {
    it('exempts safe methods: an untrusted origin still reads with 200', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      const response = await cookieRequest(app, session, 'GET', '/me', { origin: EVIL_ORIGIN });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        user: { id: user.id, email: user.email },
        session: { id: session.sessionId },
      });
    });
  });

  describe('DELETE /me/sessions/:id', () => {
    it('refuses an untrusted origin with 403 and revokes nothing', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      const response = await cookieRequest(app, mine, 'DELETE', `/me/sessions/${other.sessionId}`, {
        origin: EVIL_ORIGIN,
      });
      expectCsrfRejected(response);
      await expectAlive(other);
      await expectAlive(mine);
    });
  });

  describe('POST /me/sessions/revoke-others', () => {
    it('refuses an untrusted origin with 403 and revokes nothing', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      const response = await cookieRequest(app, mine, 'POST', '/me/sessions/revoke-others', {
        origin: EVIL_ORIGIN,
      });
      expectCsrfRejected(response);
      await expectAlive(other);
      await expectAlive(mine);
    });
  });

  describe('POST /me/password', () => {
    it('refuses an untrusted origin with 403 and keeps the password and the other sessions', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      const hashBefore = (await database.users.findById(user.id))?.passwordHash;
      const response = await cookieRequest(
        app,
        mine,
        'POST',
        '/me/password',
        { origin: EVIL_ORIGIN },
        { currentPassword: user.password, newPassword: 'an entirely new passphrase' },
      );
      expectCsrfRejected(response);
      expect((await database.users.findById(user.id))?.passwordHash).toBe(hashBefore);
      await expectAlive(other);
      await expectAlive(mine);
    });
  });

  describe('POST /auth/login', () => {
    it('refuses a login from an untrusted origin with 403, no cookie and no session', async () => {
      const user = await givenUser(app);
      const response = await login(app, user, { origin: EVIL_ORIGIN });
      expectCsrfRejected(response);
      expect(await sessionCountOf(user.id)).toBe(0);
    });

    it('refuses a login that carries neither Origin nor Referer, saying the header is missing', async () => {
      const user = await givenUser(app);
      const response = await login(app, user, { origin: null });
      expectCsrfRejected(response, CSRF_NO_ORIGIN);
      expect(await sessionCountOf(user.id)).toBe(0);
    });

    it('accepts a login from the trusted origin', async () => {
      const user = await givenUser(app);
      const response = await login(app, user);
      expect(response.statusCode).toBe(200);
      expect(setCookies(response)).toHaveLength(1);
      expect(await sessionCountOf(user.id)).toBe(1);
    });
  });
});

describe('CSRF origin check (custom TRUSTED_ORIGINS)', () => {
  const APP_ORIGIN = 'https://app.example.com';
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ TRUSTED_ORIGINS: APP_ORIGIN });
  });
  afterAll(() => app.close());

  describe('POST /auth/login', () => {
    it('accepts the configured origin', async () => {
      const user = await givenUser(app);
      const response = await login(app, user, { origin: APP_ORIGIN });
      expect(response.statusCode).toBe(200);
    });

    it('refuses the default origin once it is no longer configured', async () => {
      const user = await givenUser(app);
      expectCsrfRejected(await login(app, user, { origin: TRUSTED_ORIGIN }));
    });
  });

  describe('POST /auth/logout', () => {
    it('accepts the configured origin and refuses the default one', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user, { origin: APP_ORIGIN });
      expectCsrfRejected(
        await cookieRequest(app, session, 'POST', '/auth/logout', { origin: TRUSTED_ORIGIN }),
      );
      const response = await cookieRequest(app, session, 'POST', '/auth/logout', {
        origin: APP_ORIGIN,
      });
      expect(response.statusCode).toBe(204);
    });
  });
});
