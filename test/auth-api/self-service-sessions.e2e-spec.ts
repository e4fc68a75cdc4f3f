import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  setCookies,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const SESSION_NOT_FOUND = {
  statusCode: 404,
  error: 'SESSION_NOT_FOUND',
  message: 'No such session.',
};

const CLEARING_COOKIE = /^gh_session=; Max-Age=0;/;

interface ListedSession {
  id: string;
  kind: string;
  createdAt: string;
  lastSeenAt: string;
  idleExpiresAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  client: unknown;
  current: boolean;
}

describe('self-service sessions', () => {
  let app: NestFastifyApplication;
  let database: Database;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    database = app.get(Database);
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  const list = (session: CookieSession) => withCookie(app, session, 'GET', '/me/sessions');
  const listedIds = async (session: CookieSession): Promise<string[]> => {
    const response = await list(session);
    expect(response.statusCode).toBe(200);
    return response.json<ListedSession[]>().map(({ id }) => id);
  };

  async function expectRevokedCookie(session: CookieSession): Promise<void> {
    const response = await withCookie(app, session, 'GET', '/me');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      statusCode: 401,
      error: 'SESSION_REVOKED',
      message: 'The session has been ended. Sign in again.',
    });
    expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(setCookies(response)).toEqual([expect.stringMatching(CLEARING_COOKIE)]);
  }

  async function expectAlive(session: CookieSession): Promise<void> {
    expect((await withCookie(app, session, 'GET', '/me')).statusCode).toBe(200);
    expect((await database.sessions.findSummary(session.sessionId))?.revokedAt).toBeNull();
  }

  async function revocationOf(
    sessionId: string,
  ): Promise<{ revoked_reason: string | null; revoked_by: string | null }> {
    const rows: { revoked_reason: string | null; revoked_by: string | null }[] =
      await dataSource.query('SELECT revoked_reason, revoked_by FROM sessions WHERE id = $1', [
        sessionId,
      ]);
    return rows[0]!;
  }

  async function feedSessionIds(sessionIds: string[]): Promise<string[]> {
    const rows: { session_id: string }[] = await dataSource.query(
      'SELECT session_id FROM revocations WHERE session_id = ANY($1::uuid[])',
      [sessionIds],
    );
    return rows.map(({ session_id }) => session_id);
  }

  async function auditDetailsOf(user: TestUser, action: string): Promise<unknown[]> {
    const events = await database.auditEvents.listForSubject(`user:${user.id}`);
    return events.filter((event) => event.action === action).map(({ details }) => details);
  }

  async function expectedListing(session: CookieSession, current: boolean) {
    const summary = await database.sessions.findSummary(session.sessionId);
    expect(summary).not.toBeNull();
    return {
      id: session.sessionId,
      kind: 'cookie',
      createdAt: summary!.createdAt.toISOString(),
      lastSeenAt: summary!.lastSeenAt.toISOString(),
      idleExpiresAt: summary!.idleExpiresAt.toISOString(),
      expiresAt: summary!.absoluteExpiresAt.toISOString(),
      ip: '127.0.0.1',
      userAgent: summary!.userAgent,
      client: null,
      amr: ['pwd'],
      authTime: summary!.createdAt.toISOString(),
      identityProvider: null,
      current,
    };
  }

  describe('GET /me/sessions', () => {
    it("lists the caller's live sessions newest first, marking only the current one", async () => {
      const user = await givenUser(app);
      const firefox = await givenCookieSession(app, user, { userAgent: 'Firefox' });
      const safari = await givenCookieSession(app, user, { userAgent: 'Safari' });

      const response = await list(firefox);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual([
        await expectedListing(safari, false),
        await expectedListing(firefox, true),
      ]);
      expect(response.json<ListedSession[]>().map(({ userAgent }) => userAgent)).toEqual([
        'Safari',
        'Firefox',
      ]);

      const fromSafari = (await list(safari)).json<ListedSession[]>();
      expect(fromSafari.map(({ id, current }) => ({ id, current }))).toEqual([
        { id: safari.sessionId, current: true },
        { id: firefox.sessionId, current: false },
      ]);
    });

    it("never lists another user's sessions", async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const stranger = await givenCookieSession(app, await givenUser(app));
      expect(await listedIds(mine)).toEqual([mine.sessionId]);
      expect(await listedIds(stranger)).toEqual([stranger.sessionId]);
    });

    it('leaves out revoked sessions', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const revoked = await givenCookieSession(app, user);
      const deleted = await withCookie(app, mine, 'DELETE', `/me/sessions/${revoked.sessionId}`);
      expect(deleted.statusCode).toBe(204);
      expect(await listedIds(mine)).toEqual([mine.sessionId]);
    });

    it('leaves out expired sessions', async () => {
      const user = await givenUser(app);
      const expired = await givenCookieSession(app, user);
      const clock = app.get(Clock);
      // Past the default idle timeout (24 h) of the first session; the second starts then.
      const later = new Date(Date.now() + 2 * 86_400 * 1000);
      const now = vi.spyOn(clock, 'now').mockReturnValue(later);
      try {
        const current = await givenCookieSession(app, user);
        expect(await listedIds(current)).toEqual([current.sessionId]);
        expect(await database.sessions.findSummary(expired.sessionId)).toMatchObject({
          revokedAt: null,
        });
      } finally {
        now.mockRestore();
      }
    });

    it('answers 401 MISSING_CREDENTIALS without a cookie', async () => {
      const response = await app.inject({ method: 'GET', url: '/me/sessions' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'MISSING_CREDENTIALS',
        message: 'Authentication is required.',
      });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    });
  });

  describe('POST /me/sessions/revoke-others', () => {
    it('ends every other session of the caller and keeps the current one', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user, { userAgent: 'Firefox' });
      const other = await givenCookieSession(app, user, { userAgent: 'Safari' });

      const response = await withCookie(app, mine, 'POST', '/me/sessions/revoke-others');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ revoked: 1 });

      expect(await listedIds(mine)).toEqual([mine.sessionId]);
      await expectRevokedCookie(other);
      await expectAlive(mine);
      expect(await revocationOf(other.sessionId)).toEqual({
        revoked_reason: 'revoked_by_user',
        revoked_by: `user:${user.id}`,
      });
      expect(await feedSessionIds([other.sessionId, mine.sessionId])).toEqual([other.sessionId]);
    });

    it('records a session.revoked audit event naming the ended sessions', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      await withCookie(app, mine, 'POST', '/me/sessions/revoke-others');
      expect(await auditDetailsOf(user, 'session.revoked')).toEqual([
        { sessionIds: [other.sessionId], reason: 'revoked_by_user' },
      ]);
    });

    it("leaves other users' sessions alone", async () => {
      const mine = await givenCookieSession(app, await givenUser(app));
      const stranger = await givenCookieSession(app, await givenUser(app));
      const response = await withCookie(app, mine, 'POST', '/me/sessions/revoke-others');
      expect(response.json()).toEqual({ revoked: 0 });
      await expectAlive(stranger);
    });

    it('answers {revoked: 0} and records nothing when there is no other session', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const response = await withCookie(app, mine, 'POST', '/me/sessions/revoke-others');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ revoked: 0 });
      expect(await auditDetailsOf(user, 'session.revoked')).toEqual([]);
      await expectAlive(mine);
    });
  });

  describe('DELETE /me/sessions/:id', () => {
    it('ends another session of mine and keeps the current one', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);

      const response = await withCookie(app, mine, 'DELETE', `/me/sessions/${other.sessionId}`);
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      expect(setCookies(response)).toEqual([]);

      await expectRevokedCookie(other);
      await expectAlive(mine);
      expect(await revocationOf(other.sessionId)).toEqual({
        revoked_reason: 'revoked_by_user',
        revoked_by: `user:${user.id}`,
      });
      expect(await feedSessionIds([other.sessionId])).toEqual([other.sessionId]);
    });

    it('records a session.revoked audit event for the ended session', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      await withCookie(app, mine, 'DELETE', `/me/sessions/${other.sessionId}`);
      expect(await auditDetailsOf(user, 'session.revoked')).toEqual([
        { sessionIds: [other.sessionId], reason: 'revoked_by_user' },
      ]);
    });

    it('ends the current session and clears its cookie', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);

      const response = await withCookie(app, mine, 'DELETE', `/me/sessions/${mine.sessionId}`);
      expect(response.statusCode).toBe(204);
      expect(setCookies(response)).toEqual([expect.stringMatching(CLEARING_COOKIE)]);

      await expectRevokedCookie(mine);
    });

    it('ends the current session and clears its cookie when its id is written in upper case', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);

      const url = `/me/sessions/${mine.sessionId.toUpperCase()}`;
      const response = await withCookie(app, mine, 'DELETE', url);
      expect(response.statusCode).toBe(204);
      expect((await database.sessions.findSummary(mine.sessionId))?.revokedAt).toBeInstanceOf(Date);
      expect(setCookies(response)).toEqual([expect.stringMatching(CLEARING_COOKIE)]);
    });

    it('answers 204 again for a session of mine that has already ended', async () => {
      const user = await givenUser(app);
      const mine = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      const url = `/me/sessions/${other.sessionId}`;
      expect((await withCookie(app, mine, 'DELETE', url)).statusCode).toBe(204);
      expect((await withCookie(app, mine, 'DELETE', url)).statusCode).toBe(204);
      expect(await auditDetailsOf(user, 'session.revoked')).toHaveLength(1);
    });

    it("answers 404 SESSION_NOT_FOUND for another user's session and leaves it alone", async () => {
      const mine = await givenCookieSession(app, await givenUser(app));
      const stranger = await givenCookieSession(app, await givenUser(app));

      const response = await withCookie(app, mine, 'DELETE', `/me/sessions/${stranger.sessionId}`);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual(SESSION_NOT_FOUND);

      await expectAlive(stranger);
      await expectAlive(mine);
    });

    it('answers the same 404 for an unknown session id', async () => {
      const mine = await givenCookieSession(app, await givenUser(app));
      const response = await withCookie(app, mine, 'DELETE', `/me/sessions/${randomUUID()}`);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual(SESSION_NOT_FOUND);
    });

    it('answers 400 VALIDATION_FAILED for an id that is not a UUID', async () => {
      const mine = await givenCookieSession(app, await givenUser(app));
      const response: LightMyRequestResponse = await withCookie(
        app,
        mine,
        'DELETE',
        '/me/sessions/not-a-uuid',
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details: [{ field: 'id', messages: ['id must be a UUID'] }],
      });
      await expectAlive(mine);
    });
  });
});
