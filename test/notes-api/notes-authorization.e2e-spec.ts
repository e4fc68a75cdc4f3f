import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenCookieSession, givenTokens, givenUser, type TestUser } from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

describe('notes-api authorization (capabilities and scopes from @gatehouse/nest-auth)', () => {
  let auth: NestFastifyApplication;
  let notes: NestFastifyApplication;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    notes = await givenNotesApi(listening.issuer);
  });
  afterAll(async () => {
    await notes.close();
    await auth.close();
  });

  const userToken = async (user: TestUser): Promise<string> =>
    (await givenTokens(auth, user)).access_token;

  async function serviceToken(scopes: string[]): Promise<string> {
    const { client, clientSecret } = await auth.get(ClientService).create({
      name: 'reporting',
      grantTypes: ['client_credentials'],
      scopes,
    });
    const response = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: clientSecret,
      },
    });
    return response.json<{ access_token: string }>().access_token;
  }

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, payload?: object) =>
    notes.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload ? { payload } : {}),
    });

  it('reads the Authorization header as RFC 6750 §2.1 says: scheme in any case, then spaces, then the token', async () => {
    const token = await userToken(await givenUser(auth));
    const whoami = (authorization: string) =>
      notes.inject({ method: 'GET', url: '/whoami', headers: { authorization } });
    for (const accepted of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}`]) {
      expect((await whoami(accepted)).statusCode).toBe(200);
    }
    // Not a bearer credential at all: the guard looks for a cookie and finds none.
    for (const other of ['Bearer', 'Bearer ', `Bearer${token}`, `Basic ${token}`]) {
      const response = await whoami(other);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'MISSING_CREDENTIALS' });
    }
    // A bearer credential that is not one token.
    for (const malformed of [`Bearer ${token} extra`, `Bearer ${token}\tx`]) {
      expect((await whoami(malformed)).statusCode).toBe(401);
    }
  });

  it('lets a service token with the scope read the stats route', async () => {
    const response = await call('GET', '/notes/stats', await serviceToken(['notes:read']));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ count: expect.any(Number) });
  });

  it('answers 403 naming the missing capability when a service calls a users-only route', async () => {
    const token = await serviceToken(['notes:read']);
    const response = await call('DELETE', `/notes/${crypto.randomUUID()}`, token);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      statusCode: 403,
      error: 'FORBIDDEN',
      message: 'Missing capability: notes:moderate.',
    });
    const own = await call('POST', '/notes', token, { text: 'from a service' });
    expect(own.statusCode).toBe(403);
    expect(own.json()).toMatchObject({ error: 'FORBIDDEN' });
  });

  it('answers 403 naming the missing scope to a token without it', async () => {
    const user = await givenUser(auth);
    for (const token of [await userToken(user), await serviceToken([])]) {
      const response = await call('GET', '/notes/stats', token);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({
        statusCode: 403,
        error: 'FORBIDDEN',
        message: 'Missing scope: notes:read.',
      });
    }
  });

  it('lets a moderator (a role this app maps to notes:moderate) delete any note', async () => {
    const author = await givenUser(auth);
    const note = (await call('POST', '/notes', await userToken(author), { text: 'spam' })).json<{
      id: string;
    }>();
    const moderator = await givenUser(auth);
    await auth
      .get(DataSource)
      .query(`UPDATE users SET roles = '{moderator}' WHERE id = $1`, [moderator.id]);
    const plain = await call('DELETE', `/notes/${note.id}`, await userToken(author));
    expect(plain.json()).toMatchObject({ message: 'Missing capability: notes:moderate.' });
    const removed = await call('DELETE', `/notes/${note.id}`, await userToken(moderator));
    expect(removed.statusCode).toBe(204);
  });

  it("keeps each user's notes to that user", async () => {
    const alice = await givenUser(auth);
    const bob = await givenUser(auth);
    const aliceToken = await userToken(alice);
    await call('POST', '/notes', aliceToken, { text: 'alice only' });
    expect((await call('GET', '/notes', aliceToken)).json()).toEqual([
      expect.objectContaining({ text: 'alice only' }),
    ]);
    expect((await call('GET', '/notes', await userToken(bob))).json()).toEqual([]);
  });

  it('needs a caller everywhere but the public health route', async () => {
    const response = await call('GET', '/notes');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      statusCode: 401,
      error: 'MISSING_CREDENTIALS',
      message: 'Authentication is required.',
    });
    expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect((await call('GET', '/health')).statusCode).toBe(200);
    // No session introspection is configured here: a cookie alone is no credential.
    const user = await givenUser(auth);
    const { cookie } = await givenCookieSession(auth, user);
    const withCookie = await notes.inject({ method: 'GET', url: '/notes', headers: { cookie } });
    expect(withCookie.statusCode).toBe(401);
  });

  it('validates bodies: a note needs text', async () => {
    const token = await userToken(await givenUser(auth));
    expect((await call('POST', '/notes', token, {})).statusCode).toBe(400);
  });
});
