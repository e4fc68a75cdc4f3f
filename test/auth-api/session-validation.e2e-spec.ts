import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  COOKIE_NAME,
  type CookieSession,
  givenCookieSession,
  givenUser,
  setCookies,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const IDLE_SECONDS = 600;
const ABSOLUTE_SECONDS = 1800;

function expectUnauthorized(response: LightMyRequestResponse, error: string, message: string) {
  expect(response.statusCode).toBe(401);
  expect(response.json()).toEqual({ statusCode: 401, error, message });
  expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
}

function expectClearedCookie(response: LightMyRequestResponse) {
  expect(setCookies(response)).toEqual([
    `${COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`,
  ]);
}

describe('cookie session validation', () => {
  let app: NestFastifyApplication;
  let clock: Clock;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi({
      SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: String(ABSOLUTE_SECONDS),
    });
    clock = app.get(Clock);
    dataSource = app.get(DataSource);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => app.close());

  /** Moves the service clock to `seconds` after `start`. */
  function at(start: number, seconds: number): void {
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + seconds * 1000));
  }

  async function givenSessionAt(start: number): Promise<CookieSession> {
    at(start, 0);
    return givenCookieSession(app, await givenUser(app));
  }

  const me = (session: Pick<CookieSession, 'cookie'>) => withCookie(app, session, 'GET', '/me');

  describe('GET /me', () => {
    it('answers the user and the current session for a live cookie', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      const response = await me(session);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        user: { id: user.id, email: user.email, roles: [] },
        session: { id: session.sessionId, kind: 'cookie', client: null },
      });
    });

    it('answers 401 MISSING_CREDENTIALS with a challenge and no cookie change when none is sent', async () => {
      const response = await app.inject({ method: 'GET', url: '/me' });
      expectUnauthorized(response, 'MISSING_CREDENTIALS', 'Authentication is required.');
      expect(setCookies(response)).toEqual([]);
    });

    it.each([
      ['a malformed value', 'not-a-token'],
      ['a well-formed value that matches no session', 'A'.repeat(43)],
    ])('answers 401 INVALID_SESSION and clears %s', async (_label, value) => {
      const response = await me({ cookie: `${COOKIE_NAME}=${value}` });
      expectUnauthorized(response, 'INVALID_SESSION', 'The session is not valid. Sign in again.');
      expectClearedCookie(response);
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the session, clears the cookie, and the same cookie then gets 401 SESSION_REVOKED', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      const logout = await withCookie(app, session, 'POST', '/auth/logout');
      expect(logout.statusCode).toBe(204);
      expect(logout.body).toBe('');
      expect(setCookies(logout)[0]).toMatch(/^gh_session=; Max-Age=0; Path=\//);

      const after = await me(session);
      expectUnauthorized(after, 'SESSION_REVOKED', 'The session has been ended. Sign in again.');
      expectClearedCookie(after);
      const [row] = await dataSource.query<{ revoked_reason: string; revoked_by: string }[]>(
        'SELECT revoked_reason, revoked_by FROM sessions WHERE id = $1',
        [session.sessionId],
      );
      expect(row).toEqual({ revoked_reason: 'logout', revoked_by: `user:${user.id}` });
    });

    it('writes a revocation feed row and a session.logout audit event', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      await withCookie(app, session, 'POST', '/auth/logout');
      const feed = await dataSource.query<{ until: Date; revoked_at: Date }[]>(
        'SELECT revoked_at, until FROM revocations WHERE session_id = $1',
        [session.sessionId],
      );
      expect(feed).toHaveLength(1);
      expect(feed[0]!.until.getTime() - feed[0]!.revoked_at.getTime()).toBe(900_000);
      const audit = await dataSource.query<{ action: string; details: object }[]>(
        `SELECT action, details FROM audit_events WHERE subject = $1 AND action = 'session.logout'`,
        [`user:${user.id}`],
      );
      expect(audit).toEqual([
        {
          action: 'session.logout',
          details: { sessionIds: [session.sessionId], reason: 'logout' },
        },
      ]);
    });
  });

  describe('idle timeout', () => {
    it('keeps a session alive while it is used within the idle timeout', async () => {
      const start = Date.now();
      const session = await givenSessionAt(start);
      for (const seconds of [500, 1000, 1500]) {
        at(start, seconds);
        expect((await me(session)).statusCode).toBe(200);
      }
    });

    it('answers 401 SESSION_EXPIRED once the session sat idle for the timeout', async () => {
      const start = Date.now();
      const session = await givenSessionAt(start);
      at(start, IDLE_SECONDS);
      const response = await me(session);
      expectUnauthorized(response, 'SESSION_EXPIRED', 'The session has expired. Sign in again.');
      expectClearedCookie(response);
    });

    it('slides from the last recorded use, not from login', async () => {
      const start = Date.now();
      const session = await givenSessionAt(start);
      at(start, 400);
      expect((await me(session)).statusCode).toBe(200);
      at(start, 400 + IDLE_SECONDS - 1);
      expect((await me(session)).statusCode).toBe(200);
      at(start, 400 + IDLE_SECONDS - 1 + IDLE_SECONDS);
      expect((await me(session)).json()).toMatchObject({ error: 'SESSION_EXPIRED' });
    });
  });

  describe('absolute lifetime', () => {
    it('answers 401 SESSION_EXPIRED at the absolute expiry however active the session was', async () => {
      const start = Date.now();
      const session = await givenSessionAt(start);
      for (let seconds = 300; seconds < ABSOLUTE_SECONDS; seconds += 300) {
        at(start, seconds);
        expect((await me(session)).statusCode).toBe(200);
      }
      at(start, ABSOLUTE_SECONDS);
      expectUnauthorized(
        await me(session),
        'SESSION_EXPIRED',
        'The session has expired. Sign in again.',
      );
    });

    it('never slides the idle expiry past the absolute one', async () => {
      const start = Date.now();
      const session = await givenSessionAt(start);
      for (const seconds of [500, 1000, 1500, ABSOLUTE_SECONDS - 100]) {
        at(start, seconds);
        expect((await me(session)).statusCode).toBe(200);
      }
      const response = await me(session);
      const { idleExpiresAt, expiresAt } = response.json<{
        session: { idleExpiresAt: string; expiresAt: string };
      }>().session;
      expect(idleExpiresAt).toBe(expiresAt);
    });
  });

  describe('a disabled account', () => {
    it('answers 401 SESSION_REVOKED to its live sessions', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      await dataSource.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);
      expectUnauthorized(
        await me(session),
        'SESSION_REVOKED',
        'The session has been ended. Sign in again.',
      );
    });
  });
});
