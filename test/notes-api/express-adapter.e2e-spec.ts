import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenCookieSession, givenTokens, givenUser, TRUSTED_ORIGIN } from '../support/http.js';
import { givenListeningAuthApi, givenNotesApiOnExpress } from '../support/test-app.js';

/** nest-auth is framework-neutral: the notes-api module, mounted on Express instead of Fastify. */
describe('@gatehouse/nest-auth on Express', () => {
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

  const tokensOf = async () => givenTokens(auth, await givenUser(auth));

  it('authenticates a bearer token and hands the route its CurrentUser', async () => {
    const { access_token } = await tokensOf();
    const headers = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/notes`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ text: 'on express' }),
    });
    expect(created.status).toBe(201);
    const listed = await fetch(`${base}/notes`, { headers });
    expect(await listed.json()).toEqual([expect.objectContaining({ text: 'on express' })]);
  });

  it('answers 401 with the challenge, 403 naming the capability, and 401 SESSION_REVOKED after a revoke', async () => {
    const missing = await fetch(`${base}/notes`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
    expect(await missing.json()).toEqual({
      statusCode: 401,
      error: 'MISSING_CREDENTIALS',
      message: 'Authentication is required.',
    });

    const tokens = await tokensOf();
    const headers = { authorization: `Bearer ${tokens.access_token}` };
    const forbidden = await fetch(`${base}/notes/${crypto.randomUUID()}`, {
      method: 'DELETE',
      headers,
    });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({
      message: 'Missing capability: notes:moderate.',
    });

    await auth.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
    });
    const revokedAt = Date.now();
    let response = await fetch(`${base}/notes`, { headers });
    while (response.status === 200 && Date.now() - revokedAt < 2000) {
      await new Promise((wake) => setTimeout(wake, 5));
      response = await fetch(`${base}/notes`, { headers });
    }
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="gatehouse", error="invalid_token"',
    );
    expect(await response.json()).toMatchObject({ error: 'SESSION_REVOKED' });
  });

  it('ignores a cookie when no session introspection is configured', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    const response = await fetch(`${base}/notes`, {
      headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    });
    expect(response.status).toBe(401);
  });
});
