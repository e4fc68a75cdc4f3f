import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  SESSION_REVOKED,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const FIRST_PARTY = 'gatehouse-first-party';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const WRONG_PASSWORD = 'not the right password at all';

const INVALID_CREDENTIALS = {
  statusCode: 401,
  error: 'INVALID_CREDENTIALS',
  message: 'The email or password is incorrect.',
};
const REFRESH_REVOKED = {
  error: 'invalid_grant',
  error_description: 'The refresh token has been revoked.',
};
const USER_NOT_FOUND = { statusCode: 404, error: 'USER_NOT_FOUND', message: expect.any(String) };
const CURSOR_INVALID = {
  statusCode: 400,
  error: 'VALIDATION_FAILED',
  message: 'The request is invalid.',
  details: [{ field: 'cursor', messages: ['cursor is not valid'] }],
};

interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

interface AuditItem {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
}

interface UserPage {
  readonly items: { id: string }[];
  readonly nextCursor: string | null;
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface AuditPage {
  readonly items: AuditItem[];
  readonly nextCursor: string | null;
}

describe('admin-api users (disable, enable, search, roles) and the audit log', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    db = auth.get(DataSource);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  /** An admin operator signed in with a cookie (roles are read from the users table per request). */
  async function givenOperator(): Promise<{ user: TestUser; session: CookieSession }> {
    const user = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, ['admin']]);
    return { user, session: await givenCookieSession(auth, user) };
  }

  function as(
    operator: { session: CookieSession },
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
  ): Promise<LightMyRequestResponse> {
    return admin.inject({
      method,
      url,
      headers: { cookie: operator.session.cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });
  }

  function passwordGrant(
    user: TestUser,
    password = user.password,
  ): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'password',
        client_id: FIRST_PARTY,
        username: user.email,
        password,
      },
    });
  }

  async function tokensOf(user: TestUser): Promise<Tokens> {
    const response = await passwordGrant(user);
    expect(response.statusCode).toBe(200);
    return response.json<Tokens>();
  }

  function refresh(tokens: Tokens): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'refresh_token',
        client_id: FIRST_PARTY,
        refresh_token: tokens.refresh_token,
      },
    });
  }

  function me(headers: Record<string, string>): Promise<LightMyRequestResponse> {
    return auth.inject({ method: 'GET', url: '/me', headers });
  }

  function userView(user: TestUser, overrides: Record<string, unknown> = {}) {
    return {
      id: user.id,
      email: user.email,
      roles: [],
      disabled: false,
      disabledAt: null,
      emailVerifiedAt: null,
      createdAt: expect.stringMatching(ISO),
      ...overrides,
    };
  }

  describe('disabling and enabling a user', () => {
    it('ends every session at once, refuses login like a wrong password, and enabling lets them back', async () => {
      const operator = await givenOperator();
      const user = await givenUser(auth);
      const cookie = await givenCookieSession(auth, user);
      const tokens = await tokensOf(user);
      expect((await me({ cookie: cookie.cookie })).statusCode).toBe(200);

      const disabled = await as(operator, 'POST', `/admin/users/${user.id}/disable`);
      expect(disabled.statusCode).toBe(200);
      expect(disabled.json()).toEqual(
        userView(user, { disabled: true, disabledAt: expect.stringMatching(ISO) }),
      );

      // Every session is dead. auth-api is another process in production: its session cache hears
      // of the revocation through the feed (PostgreSQL NOTIFY) within milliseconds, not before
      // admin-api's answer.
      await expect
        .poll(async () => (await me({ cookie: cookie.cookie })).statusCode, {
          timeout: 2000,
          interval: 5,
        })
        .toBe(401);
      const cookieMe = await me({ cookie: cookie.cookie });
      expect(cookieMe.json()).toEqual(SESSION_REVOKED);
      await expect
        .poll(
          async () => (await me({ authorization: `Bearer ${tokens.access_token}` })).statusCode,
          { timeout: 2000, interval: 5 },
        )
        .toBe(401);
      const bearerMe = await me({ authorization: `Bearer ${tokens.access_token}` });
      expect(bearerMe.json()).toEqual(SESSION_REVOKED);
      const refreshed = await refresh(tokens);
      expect(refreshed.statusCode).toBe(400);
      expect(refreshed.json()).toEqual(REFRESH_REVOKED);

      const rows = await db.query<{ id: string; revoked_reason: string; revoked_by: string }[]>(
        `SELECT id, revoked_reason, revoked_by FROM sessions WHERE user_id = $1 ORDER BY id`,
        [user.id],
      );
      expect(rows).toEqual(
        [cookie.sessionId, decodeJwt(tokens.access_token)['sid'] as string].sort().map((id) => ({
          id,
          revoked_reason: 'user_disabled',
          revoked_by: `user:${operator.user.id}`,
        })),
      );

      // Signing in fails exactly like a wrong password (nothing tells the account is disabled).
      const refusedLogin = await login(auth, user);
      expect(refusedLogin.statusCode).toBe(401);
      expect(refusedLogin.json()).toEqual(INVALID_CREDENTIALS);
      const wrongPassword = await login(auth, { email: user.email, password: WRONG_PASSWORD });
      expect(wrongPassword.statusCode).toBe(401);
      expect(refusedLogin.json()).toEqual(wrongPassword.json());
      expect(refusedLogin.headers['set-cookie']).toBeUndefined();

      const refusedGrant = await passwordGrant(user);
      const wrongGrant = await passwordGrant(user, WRONG_PASSWORD);
      expect(refusedGrant.statusCode).toBe(400);
      expect(refusedGrant.json()).toMatchObject({ error: 'invalid_grant' });
      expect(refusedGrant.json()).toEqual(wrongGrant.json());

      const shown = await as(operator, 'GET', `/admin/users/${user.id}`);
      expect(shown.json()).toEqual(disabled.json());

      const enabled = await as(operator, 'POST', `/admin/users/${user.id}/enable`);
      expect(enabled.statusCode).toBe(200);
      expect(enabled.json()).toEqual(userView(user));

      const fresh = await givenCookieSession(auth, user);
      expect((await me({ cookie: fresh.cookie })).statusCode).toBe(200);
      const newTokens = await tokensOf(user);
      expect((await me({ authorization: `Bearer ${newTokens.access_token}` })).statusCode).toBe(
        200,
      );
      // The sessions ended by the disable stay ended.
      expect((await me({ cookie: cookie.cookie })).statusCode).toBe(401);
      expect((await refresh(tokens)).statusCode).toBe(400);
    });
  });

  describe('finding users and setting roles', () => {
    it('finds users by a case-insensitive email prefix', async () => {
      const operator = await givenOperator();
      const user = await givenUser(auth);
      // `user-<uuid>@example.com`: the first 20 characters are unique to this user.
      const prefix = user.email.slice(0, 20).toUpperCase();
      const found = await as(operator, 'GET', `/admin/users?${query({ email: prefix })}`);
      expect(found.statusCode).toBe(200);
      expect(found.json()).toEqual({ items: [userView(user)], nextCursor: null });

      const exact = await as(
        operator,
        'GET',
        `/admin/users?${query({ email: ` ${user.email.toUpperCase()} ` })}`,
      );
      expect(exact.json()).toEqual({ items: [userView(user)], nextCursor: null });

      const none = await as(
        operator,
        'GET',
        `/admin/users?${query({ email: `nobody-${randomUUID()}` })}`,
      );
      expect(none.statusCode).toBe(200);
      expect(none.json()).toEqual({ items: [], nextCursor: null });
    });

    it('lists every user newest first, page by page, without an email (or with an empty one)', async () => {
      const operator = await givenOperator();
      const [oldest, middle, newest] = [
        await givenUser(auth),
        await givenUser(auth),
        await givenUser(auth),
      ];

      const first = await as(operator, 'GET', '/admin/users?limit=2');
      expect(first.statusCode).toBe(200);
      const firstPage = first.json<UserPage>();
      expect(firstPage.items).toEqual([userView(newest), userView(middle)]);
      expect(firstPage.nextCursor).toEqual(expect.any(String));

      const second = await as(
        operator,
        'GET',
        `/admin/users?${query({ limit: '2', cursor: firstPage.nextCursor! })}`,
      );
      expect(second.json<UserPage>().items[0]).toEqual(userView(oldest));

      for (const blank of ['', '  ']) {
        const empty = await as(
          operator,
          'GET',
          `/admin/users?${query({ email: blank, limit: '2' })}`,
        );
        expect(empty.statusCode).toBe(200);
        expect(empty.json()).toEqual(firstPage);
      }
    });

    it('walks the whole listing with nextCursor, each user once', async () => {
      const operator = await givenOperator();
      const created = [await givenUser(auth), await givenUser(auth)];
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const response = await as(
          operator,
          'GET',
          `/admin/users?${query({ limit: '3', ...(cursor ? { cursor } : {}) })}`,
        );
        expect(response.statusCode).toBe(200);
        const page = response.json<UserPage>();
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      const rows: { count: number }[] = await db.query('SELECT count(*)::int AS count FROM users');
      const count = rows[0]!.count;
      expect(seen).toHaveLength(count);
      expect(new Set(seen).size).toBe(count);
      expect(seen).toEqual(expect.arrayContaining(created.map((user) => user.id)));
    });

    it('refuses a malformed cursor and a limit above 200 with 400 VALIDATION_FAILED', async () => {
      const operator = await givenOperator();
      const malformed = await as(operator, 'GET', '/admin/users?cursor=nope');
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toEqual(CURSOR_INVALID);
      const tooMany = await as(operator, 'GET', '/admin/users?limit=201');
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    });

    it('replaces roles (deduplicated), shown by GET; the new role takes effect', async () => {
      const operator = await givenOperator();
      const user = await givenUser(auth);
      const set = await as(operator, 'PUT', `/admin/users/${user.id}/roles`, {
        roles: ['support', 'billing', 'support'],
      });
      expect(set.statusCode).toBe(200);
      expect(set.json()).toEqual(userView(user, { roles: ['support', 'billing'] }));
      const shown = await as(operator, 'GET', `/admin/users/${user.id}`);
      expect(shown.statusCode).toBe(200);
      expect(shown.json()).toEqual(userView(user, { roles: ['support', 'billing'] }));

      // As support, the user now reads sessions but may not manage users.
      const session = await givenCookieSession(auth, user);
      const asSupport = { session };
      expect((await as(asSupport, 'GET', `/admin/sessions?userId=${user.id}`)).statusCode).toBe(
        200,
      );
      expect((await as(asSupport, 'GET', `/admin/users/${user.id}`)).statusCode).toBe(403);

      const cleared = await as(operator, 'PUT', `/admin/users/${user.id}/roles`, { roles: [] });
      expect(cleared.json()).toEqual(userView(user));
      const denied = await as(asSupport, 'GET', `/admin/sessions?userId=${user.id}`);
      expect(denied.statusCode).toBe(403);
    });

    it('answers 404 USER_NOT_FOUND for an unknown user on every user route', async () => {
      const operator = await givenOperator();
      const unknown = randomUUID();
      const requests: [method: 'GET' | 'POST' | 'PUT', url: string, payload?: object][] = [
        ['GET', `/admin/users/${unknown}`],
        ['PUT', `/admin/users/${unknown}/roles`, { roles: ['support'] }],
        ['POST', `/admin/users/${unknown}/disable`],
        ['POST', `/admin/users/${unknown}/enable`],
      ];
      for (const [method, url, payload] of requests) {
        const response = await as(operator, method, url, payload);
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(response.json()).toEqual(USER_NOT_FOUND);
      }
      const malformed = await as(operator, 'GET', '/admin/users/not-a-uuid');
      expect(malformed.statusCode).toBe(400);
    });
  });

  describe('the audit log of admin actions', () => {
    async function auditPage(
      operator: { session: CookieSession },
      query: Record<string, string>,
    ): Promise<AuditPage> {
      const response = await as(
        operator,
        'GET',
        `/admin/audit-events?${new URLSearchParams(query).toString()}`,
      );
      expect(response.statusCode).toBe(200);
      return response.json<AuditPage>();
    }

    async function walk(
      operator: { session: CookieSession },
      query: Record<string, string>,
    ): Promise<AuditItem[]> {
      const items: AuditItem[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages += 1) {
        const page: AuditPage = await auditPage(operator, {
          ...query,
          ...(cursor ? { cursor } : {}),
        });
        expect(page.items.length).toBeLessThanOrEqual(Number(query['limit'] ?? 50));
        items.push(...page.items);
        cursor = page.nextCursor;
        if (cursor === null) {
          break;
        }
      }
      expect(cursor).toBeNull();
      return items;
    }

    it('records every admin action with the operator as actor; filters and keyset pages', async () => {
      const operator = await givenOperator();
      const actor = `user:${operator.user.id}`;
      const target = await givenUser(auth);
      const cookie = await givenCookieSession(auth, target);
      const tokens = await tokensOf(target);
      const tokenSession = decodeJwt(tokens.access_token)['sid'] as string;

      expect(
        (
          await as(operator, 'DELETE', `/admin/sessions/${cookie.sessionId}`, {
            reason: 'phished',
          })
        ).statusCode,
      ).toBe(204);
      expect(
        (await as(operator, 'POST', `/admin/users/${target.id}/revoke-sessions`)).json(),
      ).toEqual({ revoked: 1 });
      expect(
        (await as(operator, 'PUT', `/admin/users/${target.id}/roles`, { roles: ['support'] }))
          .statusCode,
      ).toBe(200);
      const second = await tokensOf(target);
      const secondSession = decodeJwt(second.access_token)['sid'] as string;
      expect((await as(operator, 'POST', `/admin/users/${target.id}/disable`)).statusCode).toBe(
        200,
      );
      expect((await as(operator, 'POST', `/admin/users/${target.id}/enable`)).statusCode).toBe(200);
      const client = await as(operator, 'POST', '/admin/clients', {
        name: `audited-${randomUUID()}`,
        grantTypes: ['client_credentials'],
      });
      expect(client.statusCode).toBe(201);
      const { clientId, name } = client.json<{ clientId: string; name: string }>();

      const event = (
        action: string,
        subject: string,
        details: Record<string, unknown>,
        ip: string | null = '127.0.0.1',
      ) => ({
        id: expect.stringMatching(/^\d+$/),
        at: expect.stringMatching(ISO),
        actor,
        action,
        subject,
        ip,
        details,
      });
      const expected = [
        event(
          'admin.client_created',
          `client:${clientId}`,
          {
            name,
            grantTypes: ['client_credentials'],
            scopes: [],
            public: false,
            firstParty: false,
            resourceServer: false,
            audience: null,
            backchannelLogoutUri: null,
          },
          null,
        ),
        event('admin.user_enabled', `user:${target.id}`, {}),
        event('admin.user_disabled', `user:${target.id}`, { revokedSessionIds: [secondSession] }),
        event('admin.user_roles_set', `user:${target.id}`, { roles: ['support'] }),
        event('admin.user_sessions_revoked', `user:${target.id}`, { sessionIds: [tokenSession] }),
        event('admin.session_revoked', `user:${target.id}`, {
          sessionIds: [cookie.sessionId],
          note: 'phished',
        }),
      ];

      // The operator's own registration and sign-in are theirs too, before the admin actions.
      const all = await auditPage(operator, { actor });
      expect(all).toEqual({
        items: [
          ...expected,
          expect.objectContaining({ actor, action: 'login.succeeded', subject: actor }),
          expect.objectContaining({ actor, action: 'user.registered', subject: actor }),
        ],
        nextCursor: null,
      });

      const byAction = await auditPage(operator, { actor, action: 'admin.user_disabled' });
      expect(byAction).toEqual({ items: [expected[2]], nextCursor: null });
      // By action alone (every operator's): this one is among them.
      const disables = await walk(operator, { action: 'admin.user_disabled', limit: '200' });
      expect(disables.every((item) => item.action === 'admin.user_disabled')).toBe(true);
      expect(disables.map((item) => item.id)).toContain(all.items[2]!.id);

      const bySubject = await auditPage(operator, { subject: `client:${clientId}` });
      expect(bySubject.items).toEqual([expected[0]]);

      // From/to: the window [at of the roles event, at of the enable event) holds roles + disable.
      const window = await auditPage(operator, {
        actor,
        from: all.items[3]!.at,
        to: all.items[1]!.at,
      });
      expect(window.items.map((item) => item.action)).toEqual([
        'admin.user_disabled',
        'admin.user_roles_set',
      ]);

      // limit=2: four pages, the same items in the same order, none twice.
      const first = await auditPage(operator, { actor, limit: '2' });
      expect(first.items).toEqual(all.items.slice(0, 2));
      expect(first.nextCursor).toEqual(expect.any(String));
      const walked = await walk(operator, { actor, limit: '2' });
      expect(walked).toEqual(all.items);
      expect(new Set(walked.map((item) => item.id)).size).toBe(walked.length);
    });

    it('records a key rotation (on a database of its own: rotation would disturb other files)', async () => {
      const env = { DATABASE_URL: await freshDatabaseUrl('adminkeys', { migrated: true }) };
      const ownAuth = await givenAuthApi(env);
      const ownAdmin = await givenAdminApi(env);
      try {
        const user = await givenUser(ownAuth);
        await ownAuth
          .get(DataSource)
          .query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, ['admin']]);
        const operator = { session: await givenCookieSession(ownAuth, user) };
        const request = (method: 'GET' | 'POST', url: string) =>
          ownAdmin.inject({
            method,
            url,
            headers: { cookie: operator.session.cookie, origin: TRUSTED_ORIGIN },
          });
        const rotated = await request('POST', '/admin/keys/rotate');
        expect(rotated.statusCode).toBe(200);
        const rotation = rotated.json<{ retired: string; active: string; next: string }>();
        const audit = await request(
          'GET',
          `/admin/audit-events?${new URLSearchParams({ actor: `user:${user.id}` }).toString()}`,
        );
        expect(audit.json()).toEqual({
          items: [
            {
              id: expect.stringMatching(/^\d+$/),
              at: expect.stringMatching(ISO),
              actor: `user:${user.id}`,
              action: 'admin.keys_rotated',
              subject: `key:${rotation.active}`,
              ip: null,
              details: rotation,
            },
            expect.objectContaining({ action: 'login.succeeded' }),
            expect.objectContaining({ action: 'user.registered' }),
          ],
          nextCursor: null,
        });
      } finally {
        await ownAdmin.close();
        await ownAuth.close();
      }
    });

    it('rejects a malformed cursor with 400 VALIDATION_FAILED', async () => {
      const operator = await givenOperator();
      for (const cursor of [
        'garbage',
        Buffer.from('["not a date", "1"]').toString('base64url'),
        Buffer.from('{}').toString('base64url'),
      ]) {
        const response = await as(
          operator,
          'GET',
          `/admin/audit-events?${new URLSearchParams({ cursor }).toString()}`,
        );
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual(CURSOR_INVALID);
      }
      const tooMany = await as(operator, 'GET', '/admin/audit-events?limit=201');
      expect(tooMany.statusCode).toBe(400);
    });

    /*
     * audit_events.at is written by the database (DEFAULT now(): microseconds), so events recorded in
     * one transaction share it exactly, and events of concurrent requests can fall within the same
     * millisecond. The keyset must still return each of them once.
     */
    it('pages through events that share a timestamp, or a millisecond, without losing any', async () => {
      const operator = await givenOperator();
      const actor = `user:${operator.user.id}`;
      const sameInstant: { id: string }[] = await db.query(
        `INSERT INTO audit_events (actor, action, subject)
         SELECT $1, 'admin.user_enabled', 'user:' || gen_random_uuid() FROM generate_series(1, 5)
         RETURNING id::text`,
        [actor],
      );
      const sameMillisecond: { id: string }[] = await db.query(
        `INSERT INTO audit_events (at, actor, action, subject)
         SELECT date_trunc('milliseconds', now()) - interval '1 hour' + g * interval '1 microsecond',
           $1, 'admin.user_enabled', 'user:' || gen_random_uuid()
         FROM generate_series(1, 5) g
         RETURNING id::text`,
        [actor],
      );
      const ids = [...sameInstant, ...sameMillisecond].map((row) => row.id);

      const everything = await auditPage(operator, { actor, limit: '200' });
      expect(everything.items.map((item) => item.action)).toEqual([
        ...Array<string>(5).fill('admin.user_enabled'),
        'login.succeeded',
        'user.registered',
        ...Array<string>(5).fill('admin.user_enabled'),
      ]);
      expect(
        everything.items
          .filter((item) => item.action === 'admin.user_enabled')
          .map((item) => item.id)
          .sort(),
      ).toEqual([...ids].sort());

      const walked = await walk(operator, { actor, limit: '2' });
      expect(walked.map((item) => item.id)).toEqual(everything.items.map((item) => item.id));
    });
  });
});
