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
  SESSION_REVOKED,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAdminApi, givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const REFRESH_REVOKED = {
  error: 'invalid_grant',
  error_description: 'The refresh token has been revoked.',
};
const SESSION_NOT_FOUND = {
  statusCode: 404,
  error: 'SESSION_NOT_FOUND',
  message: expect.any(String),
};

function validationFailed(field: string) {
  return {
    statusCode: 400,
    error: 'VALIDATION_FAILED',
    message: 'The request is invalid.',
    details: [{ field, messages: expect.any(Array) }],
  };
}

interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

interface AdminSession {
  readonly id: string;
  readonly user: { id: string; email: string };
  readonly kind: 'cookie' | 'token';
  readonly client: { id: string; name: string } | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly idleExpiresAt: string;
  readonly expiresAt: string;
  readonly active: boolean;
  readonly revokedAt: string | null;
  readonly revokedReason: string | null;
  readonly revokedNote: string | null;
  readonly revokedBy: string | null;
}

interface SessionPage {
  readonly items: AdminSession[];
  readonly nextCursor: string | null;
}

describe('admin-api sessions: listing, filters, force revocation and keyset pagination', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let notes: NestFastifyApplication;
  let db: DataSource;
  let operator: TestUser;
  let operatorToken: string;

  beforeAll(async () => {
    const listening = await givenListeningAuthApi();
    auth = listening.app;
    notes = await givenNotesApi(listening.issuer);
    // Same issuer as auth-api, so auth-api's access tokens are accepted as bearer here.
    admin = await givenAdminApi({ ISSUER: listening.issuer });
    db = auth.get(DataSource);
    operator = await givenUser(auth);
    await db.query('UPDATE users SET roles = $2 WHERE id = $1', [operator.id, ['admin']]);
    operatorToken = (await passwordGrant(operator)).access_token;
  });
  afterAll(async () => {
    await notes?.close();
    await admin?.close();
    await auth?.close();
  });

  async function passwordGrant(user: TestUser, userAgent?: string): Promise<Tokens> {
    const response = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: userAgent ? { 'user-agent': userAgent } : {},
      payload: {
        grant_type: 'password',
        client_id: FIRST_PARTY,
        username: user.email,
        password: user.password,
      },
    });
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

  const sidOf = (tokens: Tokens) => decodeJwt(tokens.access_token)['sid'] as string;

  function asOperator(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: object,
  ): Promise<LightMyRequestResponse> {
    return admin.inject({
      method,
      url,
      headers: { authorization: `Bearer ${operatorToken}` },
      ...(payload ? { payload } : {}),
    });
  }

  async function listSessions(query: Record<string, string>): Promise<SessionPage> {
    const response = await asOperator(
      'GET',
      `/admin/sessions?${new URLSearchParams(query).toString()}`,
    );
    expect(response.statusCode).toBe(200);
    return response.json<SessionPage>();
  }

  function meWithCookie(session: CookieSession): Promise<LightMyRequestResponse> {
    return auth.inject({ method: 'GET', url: '/me', headers: { cookie: session.cookie } });
  }

  /** A revocation reaches the apps through the feed: ask again (bounded) until it is refused. */
  async function untilRefused(
    ask: () => Promise<LightMyRequestResponse>,
  ): Promise<LightMyRequestResponse> {
    const started = performance.now();
    let response = await ask();
    while (response.statusCode === 200 && performance.now() - started < 2000) {
      await new Promise((wake) => setTimeout(wake, 5));
      response = await ask();
    }
    return response;
  }

  /** notes-api learns of revocations through the feed. */
  function notesAnswer(accessToken: string): Promise<LightMyRequestResponse> {
    return untilRefused(() =>
      notes.inject({
        method: 'GET',
        url: '/notes',
        headers: { authorization: `Bearer ${accessToken}` },
      }),
    );
  }

  describe('a user with one cookie session and two token sessions', () => {
    let user: TestUser;
    let cookie: CookieSession;
    let first: Tokens;
    let second: Tokens;

    beforeAll(async () => {
      user = await givenUser(auth);
      cookie = await givenCookieSession(auth, user, { userAgent: 'Browser/1.0' });
      first = await passwordGrant(user, 'Cli/1.0');
      second = await passwordGrant(user, 'Cli/2.0');
    });

    function expectedSession(
      id: string,
      kind: 'cookie' | 'token',
      userAgent: string,
    ): Record<string, unknown> {
      return {
        id,
        user: { id: user.id, email: user.email },
        kind,
        client: kind === 'token' ? { id: FIRST_PARTY, name: expect.any(String) } : null,
        amr: ['pwd'],
        identityProvider: null,
        ip: '127.0.0.1',
        userAgent,
        createdAt: expect.stringMatching(ISO),
        lastSeenAt: expect.stringMatching(ISO),
        idleExpiresAt: expect.stringMatching(ISO),
        expiresAt: expect.stringMatching(ISO),
        active: true,
        revokedAt: null,
        revokedReason: null,
        revokedNote: null,
        revokedBy: null,
      };
    }

    it('lists exactly those three, newest first, with their metadata', async () => {
      const page = await listSessions({ userId: user.id });
      expect(page).toEqual({
        items: [
          expectedSession(sidOf(second), 'token', 'Cli/2.0'),
          expectedSession(sidOf(first), 'token', 'Cli/1.0'),
          expectedSession(cookie.sessionId, 'cookie', 'Browser/1.0'),
        ],
        nextCursor: null,
      });
      for (const session of page.items) {
        expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.parse(session.createdAt));
      }
    });

    it('GET /admin/sessions/:id shows one; unknown → 404, malformed → 400', async () => {
      const one = await asOperator('GET', `/admin/sessions/${sidOf(first)}`);
      expect(one.statusCode).toBe(200);
      expect(one.json()).toEqual(expectedSession(sidOf(first), 'token', 'Cli/1.0'));

      const unknown = await asOperator('GET', `/admin/sessions/${randomUUID()}`);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual(SESSION_NOT_FOUND);

      const malformed = await asOperator('GET', '/admin/sessions/not-a-uuid');
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toEqual({
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details: [{ field: 'id', messages: ['id must be a UUID'] }],
      });

      const unknownDelete = await asOperator('DELETE', `/admin/sessions/${randomUUID()}`, {});
      expect(unknownDelete.statusCode).toBe(404);
      expect(unknownDelete.json()).toEqual(SESSION_NOT_FOUND);
    });

    it('filters by email, clientId and kind', async () => {
      const ids = (page: SessionPage) => page.items.map((session) => session.id);
      expect(ids(await listSessions({ email: user.email }))).toEqual([
        sidOf(second),
        sidOf(first),
        cookie.sessionId,
      ]);
      expect(ids(await listSessions({ userId: user.id, kind: 'cookie' }))).toEqual([
        cookie.sessionId,
      ]);
      expect(ids(await listSessions({ email: user.email, kind: 'token' }))).toEqual([
        sidOf(second),
        sidOf(first),
      ]);
      expect(ids(await listSessions({ userId: user.id, clientId: FIRST_PARTY }))).toEqual([
        sidOf(second),
        sidOf(first),
      ]);
      expect(ids(await listSessions({ userId: user.id, clientId: 'no-such-client' }))).toEqual([]);
      expect(ids(await listSessions({ email: `nobody-${randomUUID()}@example.com` }))).toEqual([]);
      // Across all users (no user filter): this user's token sessions appear, newest first.
      const allTokens = ids(
        await listSessions({ clientId: FIRST_PARTY, kind: 'token', limit: '200' }),
      );
      expect(allTokens.filter((id) => id === sidOf(first) || id === sidOf(second))).toEqual([
        sidOf(second),
        sidOf(first),
      ]);
    });

    it('force-revokes the cookie session and a token session; active=true lists the remaining one', async () => {
      const beforeCookie = await meWithCookie(cookie);
      expect(beforeCookie.statusCode).toBe(200);

      const revokeCookie = await asOperator('DELETE', `/admin/sessions/${cookie.sessionId}`, {
        reason: 'stolen laptop',
      });
      expect(revokeCookie.statusCode).toBe(204);
      expect(revokeCookie.body).toBe('');

      // auth-api is another process in production: its session cache hears of the revocation through
      // the feed (PostgreSQL NOTIFY) within milliseconds, not before admin-api's answer.
      await expect
        .poll(async () => (await meWithCookie(cookie)).statusCode, { timeout: 2000, interval: 5 })
        .toBe(401);
      const dead = await meWithCookie(cookie);
      expect(dead.json()).toEqual(SESSION_REVOKED);

      const row = await asOperator('GET', `/admin/sessions/${cookie.sessionId}`);
      expect(row.json()).toEqual({
        ...expectedSession(cookie.sessionId, 'cookie', 'Browser/1.0'),
        active: false,
        revokedAt: expect.stringMatching(ISO),
        revokedReason: 'admin',
        revokedNote: 'stolen laptop',
        revokedBy: `user:${operator.id}`,
      });

      // The token session: notes-api accepts its access token until the revocation.
      const notesBefore = await notes.inject({
        method: 'GET',
        url: '/notes',
        headers: { authorization: `Bearer ${first.access_token}` },
      });
      expect(notesBefore.statusCode).toBe(200);

      const revokeToken = await asOperator('DELETE', `/admin/sessions/${sidOf(first)}`, {});
      expect(revokeToken.statusCode).toBe(204);

      const refreshed = await refresh(first);
      expect(refreshed.statusCode).toBe(400);
      expect(refreshed.json()).toEqual(REFRESH_REVOKED);

      const refused = await notesAnswer(first.access_token);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toEqual(SESSION_REVOKED);

      // The other token session is untouched.
      const untouched = await notes.inject({
        method: 'GET',
        url: '/notes',
        headers: { authorization: `Bearer ${second.access_token}` },
      });
      expect(untouched.statusCode).toBe(200);

      const active = await listSessions({ userId: user.id, active: 'true' });
      expect(active.items.map((session) => session.id)).toEqual([sidOf(second)]);
      const ended = await listSessions({ userId: user.id, active: 'false' });
      expect(ended.items.map((session) => session.id)).toEqual([sidOf(first), cookie.sessionId]);
      expect(
        ended.items.map((session) => [
          session.revokedReason,
          session.revokedNote,
          session.revokedBy,
        ]),
      ).toEqual([
        ['admin', null, `user:${operator.id}`],
        ['admin', 'stolen laptop', `user:${operator.id}`],
      ]);
    });
  });

  it('POST /admin/users/:id/revoke-sessions ends every live session of the user', async () => {
    const user = await givenUser(auth);
    const cookie = await givenCookieSession(auth, user);
    const tokens = await passwordGrant(user);

    const response = await asOperator('POST', `/admin/users/${user.id}/revoke-sessions`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ revoked: 2 });

    // The refresh grant reads the row, so it refuses at once. auth-api's cookie and bearer checks
    // hear of a revocation made by admin-api (another process in production) through the feed,
    // within milliseconds but not before admin-api's answer: poll, bounded, as notes-api does.
    const refreshed = await refresh(tokens);
    expect(refreshed.statusCode).toBe(400);
    expect(refreshed.json()).toEqual(REFRESH_REVOKED);
    const me = await untilRefused(() => meWithCookie(cookie));
    expect(me.statusCode).toBe(401);
    expect(me.json()).toEqual(SESSION_REVOKED);
    const bearerMe = await untilRefused(() =>
      auth.inject({
        method: 'GET',
        url: '/me',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      }),
    );
    expect(bearerMe.statusCode).toBe(401);
    expect(bearerMe.json()).toEqual(SESSION_REVOKED);
    const refused = await notesAnswer(tokens.access_token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual(SESSION_REVOKED);

    expect((await listSessions({ userId: user.id, active: 'true' })).items).toEqual([]);
    const all = await listSessions({ userId: user.id });
    expect(all.items.map((session) => [session.id, session.active, session.revokedBy])).toEqual([
      [sidOf(tokens), false, `user:${operator.id}`],
      [cookie.sessionId, false, `user:${operator.id}`],
    ]);

    // Nothing left to revoke.
    const again = await asOperator('POST', `/admin/users/${user.id}/revoke-sessions`);
    expect(again.json()).toEqual({ revoked: 0 });
  });

  it('rejects a malformed cursor and a limit above 200 with 400 VALIDATION_FAILED', async () => {
    for (const cursor of ['not-a-cursor', Buffer.from('["x", 5]').toString('base64url')]) {
      const response = await asOperator(
        'GET',
        `/admin/sessions?${new URLSearchParams({ cursor }).toString()}`,
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(validationFailed('cursor'));
    }
    for (const limit of ['201', '0']) {
      const response = await asOperator('GET', `/admin/sessions?limit=${limit}`);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(validationFailed('limit'));
    }
    const page = await listSessions({ limit: '200' });
    expect(page.items.length).toBeLessThanOrEqual(200);
  });

  it('walks 10 000 sessions of one user page by page: each exactly once, stable under inserts', async () => {
    const user = await givenUser(auth);
    const nonce = randomUUID();
    // The app writes created_at from a JS Date (millisecond precision), so these do too. Three
    // sessions share each timestamp, so the id breaks ties; they span about 55 minutes.
    const base = new Date(Date.now() - 3_600_000);
    const inserted: { id: string }[] = await db.query(
      `INSERT INTO sessions (user_id, kind, token_hash, created_at, last_seen_at, idle_expires_at,
         absolute_expires_at)
       SELECT $1, 'cookie', sha256(convert_to($2 || ':' || g, 'UTF8')), t.at, t.at,
         now() + interval '1 day', now() + interval '30 days'
       FROM generate_series(1, 10000) g,
         LATERAL (SELECT $3::timestamptz - (g / 3) * interval '1 second' AS at) t
       RETURNING id`,
      [user.id, nonce, base],
    );
    expect(inserted).toHaveLength(10_000);
    const preExisting = new Set(inserted.map((row) => row.id));

    async function insertAt(at: Date, count: number): Promise<string[]> {
      const rows: { id: string }[] = await db.query(
        `INSERT INTO sessions (user_id, kind, token_hash, created_at, last_seen_at,
           idle_expires_at, absolute_expires_at)
         SELECT $1, 'cookie', sha256(convert_to($2 || ':late:' || g, 'UTF8')), $3, $3,
           now() + interval '1 day', now() + interval '30 days'
         FROM generate_series(1, $4::int) g
         RETURNING id`,
        [user.id, `${nonce}:${at.toISOString()}`, at, count],
      );
      return rows.map((row) => row.id);
    }

    const seen = new Map<string, number>();
    const returned: AdminSession[] = [];
    const insertedBehind = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: SessionPage = await listSessions({
        userId: user.id,
        limit: '200',
        ...(cursor ? { cursor } : {}),
      });
      pages += 1;
      expect(page.items.length).toBeLessThanOrEqual(200);
      for (const session of page.items) {
        seen.set(session.id, (seen.get(session.id) ?? 0) + 1);
        returned.push(session);
      }
      cursor = page.nextCursor;
      if (cursor && pages % 7 === 0) {
        const last = page.items.at(-1)!;
        const lastAt = Date.parse(last.createdAt);
        // Newer than everything, and in the middle of the range the walk has already passed.
        for (const id of await insertAt(new Date(), 3)) {
          insertedBehind.add(id);
        }
        for (const id of await insertAt(new Date(lastAt + 1_000), 3)) {
          insertedBehind.add(id);
        }
        // At the very timestamp of the last row returned (ids on both sides of it).
        await insertAt(new Date(lastAt), 4);
        // Ahead of the walk: these may appear, at most once.
        await insertAt(new Date(lastAt - 1_000), 2);
      }
    } while (cursor !== null && pages < 200);

    expect(cursor).toBeNull();
    const missing = [...preExisting].filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    const duplicates = [...seen].filter(([, count]) => count > 1);
    expect(duplicates).toEqual([]);
    // The keyset never goes back: rows inserted behind the walk's position are not returned.
    expect([...insertedBehind].filter((id) => seen.has(id))).toEqual([]);
    // Newest first, ties broken by id (descending), across page boundaries.
    for (let index = 1; index < returned.length; index += 1) {
      const previous = returned[index - 1]!;
      const current = returned[index]!;
      const order =
        Date.parse(previous.createdAt) - Date.parse(current.createdAt) ||
        (previous.id > current.id ? 1 : -1);
      expect(order).toBeGreaterThan(0);
    }
  });

  it('accepts cookie-authenticated operators at admin-api (trusted origin for writes)', async () => {
    const user = await givenUser(auth);
    const victim = await givenCookieSession(auth, user);
    const operatorCookie = await givenCookieSession(auth, operator);
    const response = await admin.inject({
      method: 'DELETE',
      url: `/admin/sessions/${victim.sessionId}`,
      headers: { cookie: operatorCookie.cookie, origin: TRUSTED_ORIGIN },
      payload: { reason: 'cookie operator' },
    });
    expect(response.statusCode).toBe(204);
    expect((await meWithCookie(victim)).json()).toEqual(SESSION_REVOKED);
  });
});
