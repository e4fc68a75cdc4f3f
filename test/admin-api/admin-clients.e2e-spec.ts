import { createHash } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  givenCookieSession,
  givenOperatorSession,
  givenUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

interface CreatedClient {
  clientId: string;
  clientSecret: string | null;
}

describe('admin-api client management', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let cookie: string;
  let operatorId: string;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    const operator = await givenUser(auth);
    operatorId = operator.id;
    await auth
      .get(DataSource)
      .query(`UPDATE users SET roles = '{admin}' WHERE id = $1`, [operator.id]);
    ({ cookie } = await givenCookieSession(auth, operator));
  });
  afterAll(async () => {
    await admin.close();
    await auth.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    admin.inject({
      method,
      url,
      headers: { cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  const clientCredentials = (clientId: string, clientSecret: string) =>
    auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      },
    });

  async function givenClient(): Promise<CreatedClient> {
    const response = await call('POST', '/admin/clients', {
      name: 'reporting',
      grantTypes: ['client_credentials'],
      scopes: ['notes:read'],
      redirectUris: ['https://app.example.com/callback'],
    });
    expect(response.statusCode).toBe(201);
    return response.json<CreatedClient>();
  }

  it('updates grants, scopes and redirect URIs, and shows them back', async () => {
    const { clientId } = await givenClient();
    const updated = await call('PATCH', `/admin/clients/${clientId}`, {
      scopes: ['notes:read', 'notes:write'],
      redirectUris: ['https://app.example.com/other'],
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      clientId,
      name: 'reporting',
      grantTypes: ['client_credentials'],
      scopes: ['notes:read', 'notes:write'],
      redirectUris: ['https://app.example.com/other'],
    });
    expect((await call('GET', `/admin/clients/${clientId}`)).json()).toMatchObject({
      scopes: ['notes:read', 'notes:write'],
    });
  });

  it('rotates the secret: the new one works, the old one stops at once, only the hash is stored', async () => {
    const { clientId, clientSecret } = await givenClient();
    const rotated = await call('POST', `/admin/clients/${clientId}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const { clientSecret: fresh } = rotated.json<{ clientSecret: string }>();
    expect(fresh).not.toBe(clientSecret);
    expect((await clientCredentials(clientId, clientSecret!)).statusCode).toBe(401);
    expect((await clientCredentials(clientId, fresh)).statusCode).toBe(200);
    const [row] = await auth
      .get(DataSource)
      .query<{ secret_hash: Buffer }[]>('SELECT secret_hash FROM clients WHERE id = $1', [
        clientId,
      ]);
    expect(row?.secret_hash).toEqual(createHash('sha256').update(fresh).digest());
  });

  it('deletes a client: its token sessions are revoked into the feed and removed, its secret is dead', async () => {
    const { clientId, clientSecret } = await givenClient();
    const dataSource = auth.get(DataSource);
    const user = await givenUser(auth);
    // A token session of this client (inserted directly: client_credentials creates none).
    const [session] = await dataSource.query<{ id: string }[]>(
      `INSERT INTO sessions (user_id, kind, client_id, created_at, last_seen_at, idle_expires_at,
         absolute_expires_at) VALUES ($1, 'token', $2, now(), now(), now() + interval '1 day',
         now() + interval '7 days') RETURNING id`,
      [user.id, clientId],
    );
    expect((await call('DELETE', `/admin/clients/${clientId}`)).statusCode).toBe(204);
    expect((await call('GET', `/admin/clients/${clientId}`)).json()).toMatchObject({
      error: 'CLIENT_NOT_FOUND',
    });
    expect((await clientCredentials(clientId, clientSecret!)).statusCode).toBe(401);
    const feed = await dataSource.query('SELECT 1 FROM revocations WHERE session_id = $1', [
      session!.id,
    ]);
    expect(feed).toHaveLength(1);
    const audit = await dataSource.query<
      { actor: string; details: { revokedSessionIds: string[] } }[]
    >(
      `SELECT actor, details FROM audit_events WHERE action = 'admin.client_deleted' AND subject = $1`,
      [`client:${clientId}`],
    );
    expect(audit).toEqual([
      { actor: `user:${operatorId}`, details: { revokedSessionIds: [session!.id] } },
    ]);
  });

  it('protects the first-party client and answers 404 for an unknown one', async () => {
    const protectedAnswer = await call('DELETE', '/admin/clients/gatehouse-first-party');
    expect(protectedAnswer.statusCode).toBe(409);
    expect(protectedAnswer.json()).toEqual({
      statusCode: 409,
      error: 'CLIENT_PROTECTED',
      message:
        'The first-party client cannot be deleted; change its scopes or redirect URIs instead.',
    });
    expect((await call('PATCH', '/admin/clients/no-such-client', { name: 'x' })).statusCode).toBe(
      404,
    );
    expect((await call('POST', '/admin/clients/no-such-client/rotate-secret')).statusCode).toBe(
      404,
    );
  });

  it('refuses invalid changes with field messages', async () => {
    const { clientId } = await givenClient();
    const response = await call('PATCH', `/admin/clients/${clientId}`, {
      grantTypes: ['password'],
      redirectUris: ['javascript:alert(1)'],
    });
    expect(response.statusCode).toBe(400);
    expect(
      response.json<{ details: { field: string }[] }>().details.map(({ field }) => field),
    ).toEqual(['grantTypes', 'redirectUris']);
  });
});

describe('admin-api list fields', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let cookie: string;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    ({ cookie } = await givenOperatorSession(auth));
  });
  afterAll(async () => {
    await admin.close();
    await auth.close();
  });

  it.each([
    ['PUT', `/admin/users/${crypto.randomUUID()}/roles`, { roles: 'admin' }, 'roles'],
    ['POST', '/admin/clients', { name: 'x', grantTypes: 'client_credentials' }, 'grantTypes'],
    ['POST', '/admin/clients', { name: 'x', grantTypes: [], scopes: 'a' }, 'scopes'],
  ] as const)(
    '%s refuses a string where a list belongs with 400 on %s',
    async (method, url, payload, field) => {
      const response = await admin.inject({
        method,
        url,
        headers: { cookie, origin: TRUSTED_ORIGIN },
        payload,
      });
      expect(response.statusCode).toBe(400);
      expect(
        response.json<{ details: { field: string }[] }>().details.map((detail) => detail.field),
      ).toEqual([field]);
    },
  );
});
