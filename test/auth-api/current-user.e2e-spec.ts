import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Caller } from '@gatehouse/nest-auth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { givenCookieSession, givenUser, withCookie } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

describe('CurrentUser in auth-api', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  it('hands business code the same CurrentUser for a cookie and for a bearer token', async () => {
    const user = await givenUser(app);
    // Business code asks the caller for its user id: the spy records the CurrentUser it was asked on.
    const userId = vi.spyOn(Caller.prototype, 'userId');
    const cookieSession = await givenCookieSession(app, user);
    expect((await withCookie(app, cookieSession, 'GET', '/me')).statusCode).toBe(200);
    const tokens = (
      await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: {
          grant_type: 'password',
          client_id: 'gatehouse-first-party',
          username: user.email,
          password: user.password,
        },
      })
    ).json<{ access_token: string }>();
    const bearer = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(bearer.statusCode).toBe(200);

    const [viaCookie, viaBearer] = userId.mock.contexts as Caller[];
    userId.mockRestore();
    for (const caller of [viaCookie, viaBearer]) {
      expect(caller).toBeInstanceOf(Caller);
      expect(caller).toMatchObject({ id: user.id, kind: 'user', roles: [] });
      expect(caller!.userId()).toBe(user.id);
      expect(caller!.can('sessions:read')).toBe(false);
      expect(caller!.isAdmin()).toBe(false);
    }
    // A browser session is first-party: at auth-api it holds the reserved `account` scope.
    expect(viaCookie).toMatchObject({ credential: 'cookie', clientId: null, scopes: ['account'] });
    expect(viaCookie!.sessionId).toBe(cookieSession.sessionId);
    expect(viaBearer).toMatchObject({ credential: 'bearer', clientId: 'gatehouse-first-party' });
    expect(viaBearer!.sessionId).not.toBe(cookieSession.sessionId);
  });
});
