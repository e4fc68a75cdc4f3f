import { createHash } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientCache } from '@gatehouse/identity';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { eventually } from '../support/eventually.js';
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

  const clientCredentials = (clientId: string, clientSecret: string, scope?: string) =>
    auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        ...(scope === undefined ? {} : { scope }),
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

  describe('a client cached by auth-api (its client cache, evicted through the revocation feed)', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /** Records auth-api's client-cache evictions: admin-api's changes reach it only through the feed. */
    function watchAuthEvictions(): (clientId: string) => boolean {
      const evict = vi.spyOn(auth.get(ClientCache), 'evict');
      return (clientId) => evict.mock.calls.some(([evicted]) => evicted === clientId);
    }

    /** A client whose row auth-api now holds: it has just granted a token with this secret. */
    async function givenWarmClient(scope?: string): Promise<{ clientId: string; secret: string }> {
      const { clientId, clientSecret } = await givenClient();
      expect((await clientCredentials(clientId, clientSecret!, scope)).statusCode).toBe(200);
      expect(auth.get(ClientCache).get(clientId)).toBeDefined();
      return { clientId, secret: clientSecret! };
    }

    it("a client cached by auth-api: a rotated secret works at once and the old one stops within the feed's delay", async () => {
      const { clientId, secret: old } = await givenWarmClient();

      const rotated = await call('POST', `/admin/clients/${clientId}/rotate-secret`);
      expect(rotated.statusCode).toBe(200);
      const { clientSecret: fresh } = rotated.json<{ clientSecret: string }>();
      const rotatedAt = Date.now();

      expect((await clientCredentials(clientId, fresh)).statusCode).toBe(200);
      const refused = await eventually(
        () => clientCredentials(clientId, old),
        (response) => response.statusCode === 401,
      );
      expect(refused.statusCode).toBe(401);
      expect(Date.now() - rotatedAt).toBeLessThan(2_000);
    });

    it('the old secret stops because the feed evicts the client from auth-api, without the new one being used', async () => {
      const { clientId, secret: old } = await givenWarmClient();
      const evicted = watchAuthEvictions();

      const rotated = await call('POST', `/admin/clients/${clientId}/rotate-secret`);
      expect(rotated.statusCode).toBe(200);

      await eventually(
        () => evicted(clientId),
        (done) => done,
      );
      expect(evicted(clientId)).toBe(true);
      expect((await clientCredentials(clientId, old)).statusCode).toBe(401);
    });

    it('a rotated secret works even while auth-api still holds the row from before the rotation', async () => {
      const { clientId, secret: old } = await givenWarmClient();
      const cache = auth.get(ClientCache);
      const stale = cache.get(clientId)!;
      const evicted = watchAuthEvictions();

      const rotated = await call('POST', `/admin/clients/${clientId}/rotate-secret`);
      const { clientSecret: fresh } = rotated.json<{ clientSecret: string }>();
      await eventually(
        () => evicted(clientId),
        (done) => done,
      );
      expect(evicted(clientId)).toBe(true);
      // A process whose feed has not delivered the rotation yet: the row from before is still there.
      cache.set(stale, cache.epoch);
      expect(cache.get(clientId)).toBe(stale);

      expect((await clientCredentials(clientId, fresh)).statusCode).toBe(200);
      // The new secret was judged against PostgreSQL's row, which replaced the stale one.
      expect((await clientCredentials(clientId, old)).statusCode).toBe(401);
    });

    it('narrowing the grant types: client_credentials is refused once auth-api hears of it', async () => {
      const { clientId, secret } = await givenWarmClient();
      const evicted = watchAuthEvictions();

      const narrowed = await call('PATCH', `/admin/clients/${clientId}`, {
        grantTypes: ['authorization_code'],
      });
      expect(narrowed.statusCode).toBe(200);

      const refused = await eventually(
        () => clientCredentials(clientId, secret),
        (response) => response.statusCode !== 200,
      );
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: 'unauthorized_client' });
      expect(evicted(clientId)).toBe(true);
    });

    it('narrowing the scopes: a scope taken away is refused once auth-api hears of it', async () => {
      const { clientId, secret } = await givenWarmClient('notes:read');
      const evicted = watchAuthEvictions();

      const narrowed = await call('PATCH', `/admin/clients/${clientId}`, { scopes: [] });
      expect(narrowed.statusCode).toBe(200);

      const refused = await eventually(
        () => clientCredentials(clientId, secret, 'notes:read'),
        (response) => response.statusCode !== 200,
      );
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: 'invalid_scope' });
      expect(evicted(clientId)).toBe(true);
    });

    it('a change that narrows nothing (a scope added) reaches auth-api through the feed too', async () => {
      const { clientId, secret } = await givenWarmClient('notes:read');
      expect((await clientCredentials(clientId, secret, 'notes:write')).statusCode).toBe(400);
      const evicted = watchAuthEvictions();

      const widened = await call('PATCH', `/admin/clients/${clientId}`, {
        scopes: ['notes:read', 'notes:write'],
      });
      expect(widened.statusCode).toBe(200);

      const granted = await eventually(
        () => clientCredentials(clientId, secret, 'notes:write'),
        (response) => response.statusCode === 200,
      );
      expect(granted.statusCode).toBe(200);
      expect(evicted(clientId)).toBe(true);
    });
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
