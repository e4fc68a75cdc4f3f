import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionService } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenTokens,
  givenUser,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';
import { totpCode } from '../support/totp.js';

const NEW_PASSWORD = 'a new and longer passphrase';

/**
 * Issue 19: changing the password, the email address or the second factors needs a sign-in within
 * the last 10 minutes (`@RequireFreshAuth(600)`), whatever the credential; an older one gets the
 * RFC 9470 challenge and signs in again.
 */
describe('a recent sign-in for sensitive changes at auth-api', () => {
  let app: NestFastifyApplication;
  let db: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    db = app.get(DataSource);
  });
  afterAll(() => app?.close());

  /** Moves the user's sign-ins 11 minutes back (and drops the cached session rows). */
  async function ageSignIns(user: TestUser): Promise<void> {
    await db.query(
      "UPDATE sessions SET auth_time = auth_time - interval '11 minutes' WHERE user_id = $1",
      [user.id],
    );
    const rows = await db.query<{ id: string }[]>('SELECT id FROM sessions WHERE user_id = $1', [
      user.id,
    ]);
    app.get(SessionService).forgetSessions(rows.map((row) => row.id));
  }

  function expectSignInAgain(response: LightMyRequestResponse): void {
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      statusCode: 401,
      error: 'INSUFFICIENT_USER_AUTHENTICATION',
      message: 'This needs a sign-in within the last 600 seconds. Sign in again, then retry.',
    });
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="This needs a sign-in within the last 600 seconds. Sign in again, then retry.", max_age="600"',
    );
  }

  /** A user signed in 11 minutes ago (`old`), and again just now (`fresh`). */
  async function givenOldAndFreshSessions(): Promise<{
    user: TestUser;
    old: CookieSession;
    fresh: CookieSession;
  }> {
    const user = await givenUser(app);
    const old = await givenCookieSession(app, user);
    await ageSignIns(user);
    const fresh = await givenCookieSession(app, user);
    return { user, old, fresh };
  }

  it('changes the password only after a recent sign-in', async () => {
    const { user, old, fresh } = await givenOldAndFreshSessions();
    const change = { currentPassword: user.password, newPassword: NEW_PASSWORD };

    expectSignInAgain(await withCookie(app, old, 'POST', '/me/password', change));
    // The session itself is fine: reading needs no recent sign-in.
    expect((await withCookie(app, old, 'GET', '/me')).statusCode).toBe(200);
    expect((await withCookie(app, fresh, 'POST', '/me/password', change)).statusCode).toBe(204);
  });

  it('changes the email address only after a recent sign-in', async () => {
    const { user, old, fresh } = await givenOldAndFreshSessions();
    const change = { newEmail: `new-${user.email}`, password: user.password };

    expectSignInAgain(await withCookie(app, old, 'POST', '/me/email', change));
    expect((await withCookie(app, fresh, 'POST', '/me/email', change)).statusCode).toBe(202);
  });

  it('enrols, confirms, regenerates and removes factors only after a recent sign-in', async () => {
    const { user, old, fresh } = await givenOldAndFreshSessions();

    expectSignInAgain(await withCookie(app, old, 'POST', '/me/mfa/totp'));
    const enrolled = await withCookie(app, fresh, 'POST', '/me/mfa/totp');
    expect(enrolled.statusCode).toBe(201);
    const { id, secret } = enrolled.json<{ id: string; secret: string }>();
    const code = totpCode(secret, Date.now());

    expectSignInAgain(await withCookie(app, old, 'POST', `/me/mfa/totp/${id}/confirm`, { code }));
    const confirmed = await withCookie(app, fresh, 'POST', `/me/mfa/totp/${id}/confirm`, {
      code,
    });
    expect(confirmed.statusCode).toBe(200);

    await ageSignIns(user);
    const password = { password: user.password };
    expectSignInAgain(await withCookie(app, fresh, 'POST', '/me/mfa/recovery-codes', password));
    expectSignInAgain(await withCookie(app, fresh, 'DELETE', `/me/mfa/${id}`, password));
    // Listing the factors changes nothing.
    expect((await withCookie(app, fresh, 'GET', '/me/mfa')).statusCode).toBe(200);
  });

  it('judges a bearer token by the auth_time of its sign-in (kept across refreshes)', async () => {
    const user = await givenUser(app);
    const tokens = await givenTokens(app, user);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      amr: ['pwd'],
      acr: 'urn:gatehouse:acr:pwd',
    });
    await ageSignIns(user);
    const refreshed = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'refresh_token',
        client_id: 'gatehouse-first-party',
        refresh_token: tokens.refresh_token,
      },
    });
    expect(refreshed.statusCode).toBe(200);
    const { access_token } = refreshed.json<{ access_token: string }>();
    expect(decodeJwt(access_token)).toMatchObject({ amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd' });

    const change = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/me/password',
        headers: { authorization: `Bearer ${token}` },
        payload: { currentPassword: user.password, newPassword: NEW_PASSWORD },
      });
    expectSignInAgain(await change(access_token));
    expect((await change(tokens.access_token)).statusCode).toBe(204);
  });
});
