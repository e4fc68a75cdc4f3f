import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenTokens, givenUser, SESSION_REVOKED } from '../support/http.js';
import { givenListeningAuthApi, givenNotesApiOnExpress } from '../support/test-app.js';

/** GatehouseJwtStrategy on Express: the notes-api module's Passport route beside its native one. */
describe("GET /whoami/passport (AuthGuard('gatehouse')) on Express", () => {
  let auth: NestFastifyApplication;
  let express: INestApplication;
  let base: string;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    ({ app: express, url: base } = await givenNotesApiOnExpress(listening.issuer));
  });
  afterAll(async () => {
    await express.close();
    await auth.close();
  });

  async function answer(path: string, token?: string) {
    const response = await fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: response.status,
      body: await response.json(),
      challenge: response.headers.get('www-authenticate'),
    };
  }

  it('answers as GET /whoami does: the caller, 401 without a token, 401 for a forged one', async () => {
    const user = await givenUser(auth);
    const { access_token } = await givenTokens(auth, user);
    const forged = `${access_token.slice(0, -4)}AAAA`;
    for (const token of [access_token, undefined, forged]) {
      expect(await answer('/whoami/passport', token)).toEqual(await answer('/whoami', token));
    }
    expect(await answer('/whoami/passport', access_token)).toEqual({
      status: 200,
      body: { id: user.id, kind: 'user' },
      challenge: null,
    });
    expect(await answer('/whoami/passport')).toMatchObject({
      status: 401,
      challenge: 'Bearer realm="gatehouse"',
    });
    expect(await answer('/whoami/passport', forged)).toMatchObject({
      status: 401,
      body: { error: 'INVALID_TOKEN' },
      challenge: 'Bearer realm="gatehouse", error="invalid_token"',
    });
  });

  it('refuses the token once its session is revoked, with the native 401 SESSION_REVOKED', async () => {
    const tokens = await givenTokens(auth, await givenUser(auth));
    expect((await answer('/whoami/passport', tokens.access_token)).status).toBe(200);
    await auth.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
    });
    const revokedAt = Date.now();
    let refused = await answer('/whoami/passport', tokens.access_token);
    while (refused.status === 200 && Date.now() - revokedAt < 5000) {
      await new Promise((wake) => setTimeout(wake, 5));
      refused = await answer('/whoami/passport', tokens.access_token);
    }
    expect(refused).toEqual({
      status: 401,
      body: SESSION_REVOKED,
      challenge: 'Bearer realm="gatehouse", error="invalid_token"',
    });
    expect(await answer('/whoami', tokens.access_token)).toEqual(refused);
  });
});
