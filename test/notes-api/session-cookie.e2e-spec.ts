import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { RevocationList } from '@gatehouse/nest-auth';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

describe('the gh_session cookie at a sibling app (notes-api with an introspection client)', () => {
  let auth: NestFastifyApplication;
  let notes: NestFastifyApplication;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    const { client, clientSecret } = await auth.get(ClientService).create({
      name: 'notes-api',
      grantTypes: [],
      resourceServer: true,
    });
    notes = await givenNotesApi(listening.issuer, {
      NOTES_API_CLIENT_ID: client.id,
      NOTES_API_CLIENT_SECRET: clientSecret ?? '',
    });
  });
  afterAll(async () => {
    await notes.close();
    await auth.close();
  });

  const atNotes = (
    session: Pick<CookieSession, 'cookie'>,
    method: 'GET' | 'POST',
    origin = TRUSTED_ORIGIN,
  ): Promise<LightMyRequestResponse> =>
    notes.inject({
      method,
      url: '/notes',
      headers: { cookie: session.cookie, origin },
      ...(method === 'POST' ? { payload: { text: 'from the browser' } } : {}),
    });

  it('accepts the cookie of a live session and owns notes by its user', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    expect((await atNotes(session, 'POST')).statusCode).toBe(201);
    const listed = await atNotes(session, 'GET');
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([expect.objectContaining({ text: 'from the browser' })]);
  });

  it('applies the CSRF origin check to cookie-authenticated writes', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    const response = await atNotes(session, 'POST', 'https://evil.example');
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'CSRF_REJECTED' });
  });

  it('drops its cached answer when the session is revoked (well before the 5 s cache ends)', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    expect((await atNotes(session, 'GET')).statusCode).toBe(200); // now cached for 5 s
    expect((await withCookie(auth, session, 'POST', '/auth/logout')).statusCode).toBe(204);
    const loggedOutAt = Date.now();
    let response = await atNotes(session, 'GET');
    while (response.statusCode === 200 && Date.now() - loggedOutAt < 1000) {
      await new Promise((wake) => setTimeout(wake, 5));
      response = await atNotes(session, 'GET');
    }
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: expect.stringMatching(/^(SESSION_REVOKED|INVALID_SESSION)$/),
    });
  });

  it('refuses a cached cookie once the revocation list holds its session, and checks the origin of a write', async () => {
    const session = await givenCookieSession(auth, await givenUser(auth));
    expect((await atNotes(session, 'GET')).statusCode).toBe(200); // cached: answered on the spot
    const evil = await atNotes(session, 'POST', 'https://evil.example');
    expect(evil.statusCode).toBe(403);
    expect(evil.json()).toMatchObject({ error: 'CSRF_REJECTED' });

    // As the feed records a revocation, before (or without) the cache eviction it also triggers.
    notes.get(RevocationList).add(session.sessionId, Date.now() + 60_000);
    const response = await atNotes(session, 'GET');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'SESSION_REVOKED' });
  });

  it('refuses a cookie auth-api does not know', async () => {
    const response = await atNotes({ cookie: `gh_session=${'x'.repeat(43)}` }, 'GET');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'INVALID_SESSION' });
  });
});
