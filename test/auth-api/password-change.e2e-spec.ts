import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Database } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  type TestUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const NEW_PASSWORD = 'a new and longer passphrase';

const INVALID_CREDENTIALS = {
  statusCode: 401,
  error: 'INVALID_CREDENTIALS',
  message: 'The email or password is incorrect.',
};

function validationFailed(details: { field: string; messages: string[] }[]) {
  return {
    statusCode: 400,
    error: 'VALIDATION_FAILED',
    message: 'The request is invalid.',
    details,
  };
}

describe('POST /me/password', () => {
  let app: NestFastifyApplication;
  let database: Database;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    database = app.get(Database);
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  const changePassword = (session: CookieSession, payload: object) =>
    withCookie(app, session, 'POST', '/me/password', payload);

  /** A user signed in twice: `mine` makes the change, `other` is a second browser. */
  async function givenUserWithTwoSessions(): Promise<{
    user: TestUser;
    mine: CookieSession;
    other: CookieSession;
  }> {
    const user = await givenUser(app);
    const mine = await givenCookieSession(app, user, { userAgent: 'Firefox' });
    const other = await givenCookieSession(app, user, { userAgent: 'Safari' });
    return { user, mine, other };
  }

  async function passwordHashOf(user: TestUser): Promise<string | undefined> {
    return (await database.users.findById(user.id))?.passwordHash ?? undefined;
  }

  async function expectAlive(session: CookieSession): Promise<void> {
    expect((await withCookie(app, session, 'GET', '/me')).statusCode).toBe(200);
    expect((await database.sessions.findSummary(session.sessionId))?.revokedAt).toBeNull();
  }

  async function expectUnchanged(
    user: TestUser,
    hashBefore: string | undefined,
    sessions: CookieSession[],
  ): Promise<void> {
    expect(await passwordHashOf(user)).toBe(hashBefore);
    for (const session of sessions) {
      await expectAlive(session);
    }
    expect(
      (await database.auditEvents.listForSubject(`user:${user.id}`)).map(({ action }) => action),
    ).not.toContain('user.password_changed');
  }

  it('answers 204 and stores a new argon2id hash', async () => {
    const { user, mine } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {
      currentPassword: user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');

    const hashAfter = await passwordHashOf(user);
    expect(hashAfter).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hashAfter).not.toBe(hashBefore);
    expect(hashAfter).not.toContain(NEW_PASSWORD);
  });

  it('ends every other session with reason password_changed and keeps the current one', async () => {
    const { user, mine, other } = await givenUserWithTwoSessions();
    await changePassword(mine, { currentPassword: user.password, newPassword: NEW_PASSWORD });

    const me = await withCookie(app, other, 'GET', '/me');
    expect(me.statusCode).toBe(401);
    expect(me.json()).toEqual({
      statusCode: 401,
      error: 'SESSION_REVOKED',
      message: 'The session has been ended. Sign in again.',
    });
    const rows: { revoked_reason: string | null; revoked_by: string | null }[] =
      await dataSource.query('SELECT revoked_reason, revoked_by FROM sessions WHERE id = $1', [
        other.sessionId,
      ]);
    expect(rows).toEqual([{ revoked_reason: 'password_changed', revoked_by: `user:${user.id}` }]);
    const feed: { session_id: string }[] = await dataSource.query(
      'SELECT session_id FROM revocations WHERE session_id = ANY($1::uuid[])',
      [[other.sessionId, mine.sessionId]],
    );
    expect(feed).toEqual([{ session_id: other.sessionId }]);

    await expectAlive(mine);
  });

  it('refuses the old password and accepts the new one at login', async () => {
    const { user, mine } = await givenUserWithTwoSessions();
    await changePassword(mine, { currentPassword: user.password, newPassword: NEW_PASSWORD });

    const withOld = await login(app, user);
    expect(withOld.statusCode).toBe(401);
    expect(withOld.json()).toEqual(INVALID_CREDENTIALS);

    const withNew = await login(app, { email: user.email, password: NEW_PASSWORD });
    expect(withNew.statusCode).toBe(200);
  });

  it('records a user.password_changed audit event naming the ended sessions', async () => {
    const { user, mine, other } = await givenUserWithTwoSessions();
    await changePassword(mine, { currentPassword: user.password, newPassword: NEW_PASSWORD });

    const events = await database.auditEvents.listForSubject(`user:${user.id}`);
    const changes = events.filter(({ action }) => action === 'user.password_changed');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ actor: `user:${user.id}`, subject: `user:${user.id}` });
    expect(changes[0]!.details).toEqual({
      sessionId: mine.sessionId,
      revokedSessionIds: [other.sessionId],
    });
    expect(JSON.stringify(events)).not.toContain(NEW_PASSWORD);
    expect(JSON.stringify(events)).not.toContain(user.password);
  });

  it('answers 400 VALIDATION_FAILED for a wrong current password and changes nothing', async () => {
    const { user, mine, other } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {
      currentPassword: 'not the current password',
      newPassword: NEW_PASSWORD,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([{ field: 'currentPassword', messages: ['currentPassword is incorrect'] }]),
    );

    await expectUnchanged(user, hashBefore, [mine, other]);
    expect((await login(app, user)).statusCode).toBe(200);
    expect((await login(app, { email: user.email, password: NEW_PASSWORD })).statusCode).toBe(401);
  });

  it('answers 400 VALIDATION_FAILED on newPassword for a common password and changes nothing', async () => {
    const { user, mine, other } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {
      currentPassword: user.password,
      newPassword: 'password',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([
        {
          field: 'newPassword',
          messages: ['password is too common; choose a less predictable one'],
        },
      ]),
    );
    await expectUnchanged(user, hashBefore, [mine, other]);
  });

  it('answers 400 VALIDATION_FAILED on newPassword for a short password', async () => {
    const { user, mine } = await givenUserWithTwoSessions();
    const response = await changePassword(mine, {
      currentPassword: user.password,
      newPassword: 'abc123',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([
        { field: 'newPassword', messages: ['password must be at least 8 characters long'] },
      ]),
    );
  });

  it('answers 400 VALIDATION_FAILED on newPassword for a new password equal to the email', async () => {
    const { user, mine, other } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {
      currentPassword: user.password,
      newPassword: user.email,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([
        { field: 'newPassword', messages: ['password must not be the same as the email address'] },
      ]),
    );
    await expectUnchanged(user, hashBefore, [mine, other]);
  });

  it('answers 400 VALIDATION_FAILED for missing fields', async () => {
    const { user, mine } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {});
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([
        { field: 'currentPassword', messages: ['currentPassword is required'] },
        { field: 'newPassword', messages: ['newPassword is required'] },
      ]),
    );
    expect(await passwordHashOf(user)).toBe(hashBefore);
  });

  it('answers 400 VALIDATION_FAILED for an unknown field', async () => {
    const { user, mine } = await givenUserWithTwoSessions();
    const hashBefore = await passwordHashOf(user);

    const response = await changePassword(mine, {
      currentPassword: user.password,
      newPassword: NEW_PASSWORD,
      email: 'someone-else@example.com',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      validationFailed([{ field: 'email', messages: ['property email should not exist'] }]),
    );
    expect(await passwordHashOf(user)).toBe(hashBefore);
  });

  it('answers 401 MISSING_CREDENTIALS without a cookie', async () => {
    const user = await givenUser(app);
    const hashBefore = await passwordHashOf(user);

    const response = await app.inject({
      method: 'POST',
      url: '/me/password',
      headers: { origin: TRUSTED_ORIGIN },
      payload: { currentPassword: user.password, newPassword: NEW_PASSWORD },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      statusCode: 401,
      error: 'MISSING_CREDENTIALS',
      message: 'Authentication is required.',
    });
    expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(await passwordHashOf(user)).toBe(hashBefore);
  });
});

describe('POST /me/password guessing the current password', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '3' });
  });
  afterAll(() => app.close());

  it('counts wrong current passwords against the login limit of the account', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const guess = () =>
      withCookie(app, session, 'POST', '/me/password', {
        currentPassword: 'a wrong guess here',
        newPassword: NEW_PASSWORD,
      });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await guess()).statusCode).toBe(400);
    }
    const limited = await guess();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'RATE_LIMITED' });
    // The same counter guards the login form: a hijacked session cannot be used to guess.
    expect((await login(app, user)).statusCode).toBe(429);
  });
});
