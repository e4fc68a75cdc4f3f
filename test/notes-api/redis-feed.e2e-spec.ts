import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  GATEHOUSE_AUTH_OPTIONS,
  type GatehouseAuthOptions,
  RedisRevocationFeed,
} from '@gatehouse/nest-auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenUser } from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

const redisUrl = process.env['REDIS_URL'];

describe.skipIf(!redisUrl)('revocations over Redis pub/sub (REDIS_URL set)', () => {
  let auth: NestFastifyApplication;
  let notes: NestFastifyApplication;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi({ REDIS_URL: redisUrl! });
    auth = listening.app;
    notes = await givenNotesApi(listening.issuer, { REDIS_URL: redisUrl! });
  });
  afterAll(async () => {
    await notes.close();
    await auth.close();
  });

  it('follows the feed through Redis and refuses a revoked session well within the 10 s backfill', async () => {
    const feed = notes.get<GatehouseAuthOptions>(GATEHOUSE_AUTH_OPTIONS).revocationFeed;
    expect(feed).toBeInstanceOf(RedisRevocationFeed);
    const user = await givenUser(auth);
    const tokens = (
      await auth.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: {
          grant_type: 'password',
          client_id: 'gatehouse-first-party',
          username: user.email,
          password: user.password,
        },
      })
    ).json<{ access_token: string; refresh_token: string }>();
    const list = () =>
      notes.inject({
        method: 'GET',
        url: '/notes',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
    expect((await list()).statusCode).toBe(200);
    await auth.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
    });
    const revokedAt = Date.now();
    let response = await list();
    while (response.statusCode === 200 && Date.now() - revokedAt < 2000) {
      await new Promise((wake) => setTimeout(wake, 5));
      response = await list();
    }
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'SESSION_REVOKED' });
  });
});
