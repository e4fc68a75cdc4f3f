import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock, SessionService } from '@gatehouse/identity';
import { RevocationList } from '@gatehouse/nest-auth';
import { Database } from '@gatehouse/persistence';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  COOKIE_NAME,
  type CookieSession,
  givenCookieSession,
  givenOperatorSession,
  givenUser,
  login,
  SESSION_REVOKED,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

/** The defaults this file relies on (none of them is overridden for `app` and `admin`). */
const CACHE_TTL_SECONDS = 5;
const TOUCH_INTERVAL_SECONDS = 60;
const IDLE_TIMEOUT_SECONDS = 86_400;
/** Past the cache TTL, far before the touch interval and the idle timeout. */
const PAST_TTL = CACHE_TTL_SECONDS + 1;

interface MeBody {
  readonly user: {
    id: string;
    email: string;
    emailVerified: boolean;
    roles: string[];
    createdAt: string;
  };
  readonly session: {
    id: string;
    kind: string;
    createdAt: string;
    lastSeenAt: string;
    idleExpiresAt: string;
    expiresAt: string;
    ip: string | null;
    userAgent: string | null;
    client: null;
    amr: string[] | null;
    authTime: string | null;
    identityProvider: string | null;
  };
}

/**
 * Freezes the app's clock at the current instant and returns a function that moves it to `seconds`
 * after that instant. Frozen, the cache's TTL cannot run out on its own while a slow (loaded) machine
 * runs the test: an entry expires only when the test moves the clock.
 */
function freezeClock(app: NestFastifyApplication): (seconds: number) => void {
  const start = Date.now();
  const now = vi.spyOn(app.get(Clock), 'now');
  const at = (seconds: number) => {
    now.mockReturnValue(new Date(start + seconds * 1000));
  };
  at(0);
  return at;
}

/**
 * Counts the cookie-session reads that reach PostgreSQL (spied, not mocked: they still run). A request
 * answered from the cache adds none.
 */
function countSessionReads(app: NestFastifyApplication): () => number {
  const find = vi.spyOn(app.get(Database).sessions, 'findCookieSessionByTokenHash');
  return () => find.mock.calls.length;
}

function me(app: NestFastifyApplication, session: Pick<CookieSession, 'cookie'>) {
  return withCookie(app, session, 'GET', '/me');
}

async function rolesAt(
  app: NestFastifyApplication,
  session: Pick<CookieSession, 'cookie'>,
): Promise<string[]> {
  const response = await me(app, session);
  expect(response.statusCode).toBe(200);
  return response.json<MeBody>().user.roles;
}

function expectRevoked(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(401);
  expect(response.json()).toEqual(SESSION_REVOKED);
}

describe('session cache (auth-api, one process)', () => {
  let app: NestFastifyApplication;
  let uncached: NestFastifyApplication;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    uncached = await givenAuthApi({ SESSION_CACHE_TTL_SECONDS: '0' });
    dataSource = app.get(DataSource);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await uncached?.close();
    await app?.close();
  });

  async function setRolesInSql(userId: string, roles: string[]): Promise<void> {
    await dataSource.query('UPDATE users SET roles = $2 WHERE id = $1', [userId, roles]);
  }

  it('serves a validated cookie from memory until the TTL passes, then reads PostgreSQL again', async () => {
    const at = freezeClock(app);
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const reads = countSessionReads(app);

    expect(await rolesAt(app, session)).toEqual([]);
    expect(reads()).toBe(1);

    // Changed behind the app's back: nothing evicts, so the cached row answers.
    await setRolesInSql(user.id, ['support']);
    expect(await rolesAt(app, session)).toEqual([]);
    expect(reads()).toBe(1);

    at(CACHE_TTL_SECONDS - 0.001);
    expect(await rolesAt(app, session)).toEqual([]);
    expect(reads()).toBe(1);

    at(CACHE_TTL_SECONDS);
    expect(await rolesAt(app, session)).toEqual(['support']);
    expect(reads()).toBe(2);
    // Cached again from that read.
    expect(await rolesAt(app, session)).toEqual(['support']);
    expect(reads()).toBe(2);
  });

  it('with SESSION_CACHE_TTL_SECONDS=0 every request reads PostgreSQL: a role change shows at once', async () => {
    freezeClock(uncached);
    const user = await givenUser(uncached);
    const session = await givenCookieSession(uncached, user);
    const reads = countSessionReads(uncached);

    expect(await rolesAt(uncached, session)).toEqual([]);
    await setRolesInSql(user.id, ['support']);
    expect(await rolesAt(uncached, session)).toEqual(['support']);
    expect(reads()).toBe(2);
  });

  it('logout evicts at once: the very next request with that cookie is 401 SESSION_REVOKED', async () => {
    freezeClock(app);
    const session = await givenCookieSession(app, await givenUser(app));
    expect((await me(app, session)).statusCode).toBe(200);
    const reads = countSessionReads(app);
    expect((await me(app, session)).statusCode).toBe(200);
    expect(reads()).toBe(0);

    expect((await withCookie(app, session, 'POST', '/auth/logout')).statusCode).toBe(204);

    expectRevoked(await me(app, session));
    // Refused by PostgreSQL's answer: the cached row was gone, not merely outvoted.
    expect(reads()).toBe(1);
  });

  it('revoking another of my sessions (DELETE /me/sessions/:id) evicts that session at once', async () => {
    freezeClock(app);
    const user = await givenUser(app);
    const current = await givenCookieSession(app, user);
    const other = await givenCookieSession(app, user);
    expect((await me(app, other)).statusCode).toBe(200);

    const revoke = await withCookie(app, current, 'DELETE', `/me/sessions/${other.sessionId}`);
    expect(revoke.statusCode).toBe(204);

    expectRevoked(await me(app, other));
    expect((await me(app, current)).statusCode).toBe(200);
  });

  it('does not cache a read that raced a revocation: the next request is refused', async () => {
    freezeClock(app);
    const user = await givenUser(app);
    const current = await givenCookieSession(app, user);
    const victim = await givenCookieSession(app, user);
    const repository = app.get(Database).sessions;
    const read = repository.findCookieSessionByTokenHash.bind(repository);
    // The victim's lookup reads its (still active) row, then the revocation commits and evicts before
    // the lookup is stored: exactly the window the epoch guards.
    const lookups = vi
      .spyOn(repository, 'findCookieSessionByTokenHash')
      .mockImplementationOnce(async (hash) => {
        const row = await read(hash);
        const revoke = await withCookie(app, current, 'DELETE', `/me/sessions/${victim.sessionId}`);
        expect(revoke.statusCode).toBe(204);
        return row;
      });

    // In flight when the revocation happened: answered from the row it read (200), or refused if
    // this process's own feed event put the session on the revocation list first (401). Either is right.
    expect([200, 401]).toContain((await me(app, victim)).statusCode);
    const before = lookups.mock.calls.length;
    expectRevoked(await me(app, victim));
    // Refused by a fresh read: the raced row was never served from memory.
    expect(lookups.mock.calls.length).toBe(before + 1);
  });

  it('does not cache a touched row whose touch raced a revocation', async () => {
    const at = freezeClock(app);
    const user = await givenUser(app);
    const current = await givenCookieSession(app, user);
    const victim = await givenCookieSession(app, user);
    at(TOUCH_INTERVAL_SECONDS + 1);
    const repository = app.get(Database).sessions;
    const touch = repository.touch.bind(repository);
    // The victim's touch commits, then the revocation commits and evicts before the touched row is
    // stored.
    vi.spyOn(repository, 'touch').mockImplementationOnce(async (...args) => {
      const touched = await touch(...args);
      const revoke = await withCookie(app, current, 'DELETE', `/me/sessions/${victim.sessionId}`);
      expect(revoke.statusCode).toBe(204);
      return touched;
    });
    const reads = countSessionReads(app);

    // In flight: 200, or 401 if the feed event beat it (see above).
    expect([200, 401]).toContain((await me(app, victim)).statusCode);
    const before = reads();
    expectRevoked(await me(app, victim));
    expect(reads()).toBe(before + 1);
  });

  it('a revocation written straight to SQL (no eviction, no feed event) is served until the TTL, then refused', async () => {
    // Documents the bound: the product always revokes through RevocationService, which evicts and
    // notifies; the TTL is the backstop for anything that does not.
    const at = freezeClock(app);
    const session = await givenCookieSession(app, await givenUser(app));
    expect((await me(app, session)).statusCode).toBe(200);

    await dataSource.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [
      session.sessionId,
    ]);
    expect((await me(app, session)).statusCode).toBe(200);

    at(PAST_TTL);
    expectRevoked(await me(app, session));
  });

  describe('GET /me with a cookie', () => {
    async function expectedBody(sessionId: string): Promise<MeBody> {
      const [row] = await dataSource.query<
        {
          userId: string;
          email: string;
          emailVerified: boolean;
          roles: string[];
          userCreatedAt: Date;
          createdAt: Date;
          lastSeenAt: Date;
          idleExpiresAt: Date;
          expiresAt: Date;
          ip: string | null;
          userAgent: string | null;
          amr: string[];
          authTime: Date;
        }[]
      >(
        `SELECT u.id AS "userId", u.email, u.email_verified_at IS NOT NULL AS "emailVerified",
           u.roles, u.created_at AS "userCreatedAt",
           s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt",
           s.idle_expires_at AS "idleExpiresAt", s.absolute_expires_at AS "expiresAt",
           host(s.ip) AS ip, s.user_agent AS "userAgent", s.amr, s.auth_time AS "authTime"
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
        [sessionId],
      );
      return {
        user: {
          id: row!.userId,
          email: row!.email,
          emailVerified: row!.emailVerified,
          roles: row!.roles,
          createdAt: row!.userCreatedAt.toISOString(),
        },
        session: {
          id: sessionId,
          kind: 'cookie',
          createdAt: row!.createdAt.toISOString(),
          lastSeenAt: row!.lastSeenAt.toISOString(),
          idleExpiresAt: row!.idleExpiresAt.toISOString(),
          expiresAt: row!.expiresAt.toISOString(),
          ip: row!.ip,
          userAgent: row!.userAgent,
          client: null,
          amr: row!.amr,
          authTime: row!.authTime.toISOString(),
          identityProvider: null,
        },
      };
    }

    /** Signs in with a user agent (so it is not null in the answer); returns the cookie and body. */
    async function signedIn(
      target: NestFastifyApplication,
      user: TestUser,
    ): Promise<{ session: CookieSession; body: MeBody }> {
      const response = await login(target, user, { userAgent: 'CacheTest/1.0' });
      expect(response.statusCode).toBe(200);
      const token = /^gh_session=([^;]+);/.exec(setCookies(response)[0] ?? '')![1]!;
      const body = response.json<MeBody>();
      return {
        session: { sessionId: body.session.id, token, cookie: `${COOKIE_NAME}=${token}` },
        body,
      };
    }

    it('answers the same body on a miss and on a hit: the row in PostgreSQL, as login answered it', async () => {
      freezeClock(app);
      const user = await givenUser(app);
      const { session, body: loginBody } = await signedIn(app, user);
      const expected = await expectedBody(session.sessionId);
      expect(expected.user).toMatchObject({ id: user.id, email: user.email, roles: [] });
      expect(expected.session).toMatchObject({ ip: '127.0.0.1', userAgent: 'CacheTest/1.0' });
      expect(loginBody).toEqual(expected);
      const reads = countSessionReads(app);

      const miss = await me(app, session);
      expect(miss.statusCode).toBe(200);
      expect(reads()).toBe(1);
      expect(miss.json()).toEqual(expected);

      const hit = await me(app, session);
      expect(hit.statusCode).toBe(200);
      expect(reads()).toBe(1);
      expect(hit.json()).toEqual(expected);
      expect(Object.keys(hit.json<MeBody>().user).sort()).toEqual([
        'createdAt',
        'email',
        'emailVerified',
        'id',
        'roles',
      ]);
      expect(Object.keys(hit.json<MeBody>().session).sort()).toEqual([
        'amr',
        'authTime',
        'client',
        'createdAt',
        'expiresAt',
        'id',
        'identityProvider',
        'idleExpiresAt',
        'ip',
        'kind',
        'lastSeenAt',
        'userAgent',
      ]);
    });

    it('answers the same body with the cache off', async () => {
      freezeClock(uncached);
      const { session } = await signedIn(uncached, await givenUser(uncached));
      const response = await me(uncached, session);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(await expectedBody(session.sessionId));
    });

    it('moves lastSeenAt and idleExpiresAt forward, in the answer and the row, when a cached session is touched', async () => {
      const at = freezeClock(app);
      const { session, body: atLogin } = await signedIn(app, await givenUser(app));
      const loggedInAt = Date.parse(atLogin.session.lastSeenAt);

      // Just before the touch is due: read from PostgreSQL (the TTL ran out) and cached, not touched.
      at(TOUCH_INTERVAL_SECONDS - 2);
      const before = await me(app, session);
      expect(before.json<MeBody>().session.lastSeenAt).toBe(atLogin.session.lastSeenAt);
      expect(await expectedBody(session.sessionId)).toEqual(atLogin);

      // The touch is due and the entry is still cached: answered from the cache, touched in the row.
      const reads = countSessionReads(app);
      at(TOUCH_INTERVAL_SECONDS + 1);
      const touched = await me(app, session);
      expect(reads()).toBe(0);
      expect(touched.headers['content-type']).toBe('application/json; charset=utf-8');
      const touchedAt = loggedInAt + (TOUCH_INTERVAL_SECONDS + 1) * 1000;
      const expectedSession = {
        ...atLogin.session,
        lastSeenAt: new Date(touchedAt).toISOString(),
        idleExpiresAt: new Date(touchedAt + IDLE_TIMEOUT_SECONDS * 1000).toISOString(),
      };
      expect(touched.json()).toEqual({ user: atLogin.user, session: expectedSession });
      expect(await expectedBody(session.sessionId)).toEqual({
        user: atLogin.user,
        session: expectedSession,
      });

      // The touched row replaced the cached one: a later hit answers it, without a read.
      at(TOUCH_INTERVAL_SECONDS + 2);
      const after = await me(app, session);
      expect(reads()).toBe(0);
      expect(after.json()).toEqual({ user: atLogin.user, session: expectedSession });
    });
  });

  /**
   * A cached cookie on a read is answered by the guard without a promise (the introspector's
   * `recall`), only while the revocation list vouches for the session, no touch is due and no
   * Authorization header asks for the bearer path; everything else goes the whole way.
   */
  describe('a cached cookie answered on the spot', () => {
    it('asks SessionService nothing on a hit within the touch interval', async () => {
      freezeClock(app);
      const session = await givenCookieSession(app, await givenUser(app));
      expect((await me(app, session)).statusCode).toBe(200);
      const authenticate = vi.spyOn(app.get(SessionService), 'authenticateCookie');
      const reads = countSessionReads(app);

      expect((await me(app, session)).statusCode).toBe(200);
      expect(authenticate).not.toHaveBeenCalled();
      expect(reads()).toBe(0);
    });

    it('refuses it once the revocation list holds its session, before the TTL runs out', async () => {
      freezeClock(app);
      const session = await givenCookieSession(app, await givenUser(app));
      expect((await me(app, session)).statusCode).toBe(200);

      // As the feed records a revocation made by another process (which cannot evict this cache).
      app.get(RevocationList).add(session.sessionId, Date.now() + 60_000);
      const response = await me(app, session);
      expectRevoked(response);
      expect(setCookies(response).some((cookie) => cookie.startsWith(`${COOKIE_NAME}=;`))).toBe(
        true,
      );
    });

    it('reads the row again while the revocation list cannot vouch for the session', async () => {
      freezeClock(app);
      const session = await givenCookieSession(app, await givenUser(app));
      expect((await me(app, session)).statusCode).toBe(200);
      const reads = countSessionReads(app);
      const list = app.get(RevocationList);

      list.awaitFeed();
      try {
        expect((await me(app, session)).statusCode).toBe(200);
        expect(reads()).toBe(1);
      } finally {
        list.feedCaughtUp();
      }
      expect((await me(app, session)).statusCode).toBe(200);
      expect(reads()).toBe(1);
    });

    it("refuses a malformed value of a token's length without a query, as without the cache", async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      expect((await me(app, session)).statusCode).toBe(200);
      const reads = countSessionReads(app);
      // 43 characters, like a token, but not base64url: memory only checks the length, so this
      // misses there and is refused by the full check, before PostgreSQL.
      const malformed = `${COOKIE_NAME}=${'.'.repeat(43)}`;

      const response = await me(app, { cookie: malformed });
      expect(response.statusCode).toBe(401);
      expect(response.json<{ error: string }>().error).toBe('INVALID_SESSION');
      expect(response.headers['www-authenticate']).toBeDefined();
      expect(reads()).toBe(0);
    });

    it('leaves a request with a bearer credential to the bearer path: a bad token is refused', async () => {
      freezeClock(app);
      const session = await givenCookieSession(app, await givenUser(app));
      expect((await me(app, session)).statusCode).toBe(200);

      const response = await app.inject({
        method: 'GET',
        url: '/me',
        headers: { cookie: session.cookie, authorization: 'Bearer not-a-token' },
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
      // Another scheme is no bearer credential: the cookie decides, as without the cache.
      const basic = await app.inject({
        method: 'GET',
        url: '/me',
        headers: { cookie: session.cookie, authorization: 'Basic dXNlcjpwYXNz' },
      });
      expect(basic.statusCode).toBe(200);
    });

    it('still applies the origin check to a write with a cached cookie', async () => {
      freezeClock(app);
      const user = await givenUser(app);
      const current = await givenCookieSession(app, user);
      const other = await givenCookieSession(app, user);
      expect((await me(app, current)).statusCode).toBe(200);

      const response = await app.inject({
        method: 'DELETE',
        url: `/me/sessions/${other.sessionId}`,
        headers: { cookie: current.cookie, origin: 'https://evil.example' },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json<{ error: string }>().error).toBe('CSRF_REJECTED');
      expect((await me(app, other)).statusCode).toBe(200);
    });
  });
});

describe('session cache across processes (auth-api and admin-api on one database)', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let operatorCookie: CookieSession;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    operatorCookie = await givenOperatorSession(auth);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  /** An operator's write at admin-api: cookie from the trusted origin (CSRF check). */
  function asOperator(
    method: 'DELETE' | 'PUT',
    url: string,
    payload: object,
  ): Promise<LightMyRequestResponse> {
    return admin.inject({
      method,
      url,
      headers: { cookie: operatorCookie.cookie, origin: TRUSTED_ORIGIN },
      payload,
    });
  }

  it('a session revoked through admin-api leaves auth-api’s cache through the feed (ms, not the TTL)', async () => {
    // auth-api's clock is frozen: its cached entry can never outlive the TTL during this test, so
    // only the revocation feed (PostgreSQL NOTIFY) can make it refuse the cookie.
    freezeClock(auth);
    const session = await givenCookieSession(auth, await givenUser(auth));
    expect((await me(auth, session)).statusCode).toBe(200);
    const reads = countSessionReads(auth);
    expect((await me(auth, session)).statusCode).toBe(200);
    expect(reads()).toBe(0);

    const revoke = await asOperator('DELETE', `/admin/sessions/${session.sessionId}`, {
      reason: 'cache test',
    });
    expect(revoke.statusCode).toBe(204);

    // Another process: eviction follows the commit asynchronously, within milliseconds.
    await expect
      .poll(async () => (await me(auth, session)).statusCode, { timeout: 2000, interval: 5 })
      .toBe(401);
    // The event also puts the session on auth-api's revocation list, which alone would refuse it; the
    // entry itself is gone too: this answer came from PostgreSQL, not from the cached row.
    const readsBefore = reads();
    expectRevoked(await me(auth, session));
    expect(reads()).toBe(readsBefore + 1);
  });

  it('a role change through admin-api applies at admin-api at once and at auth-api as the feed delivers', async () => {
    // What each process can observe: admin-api checks the session's roles against capabilities on
    // every request (GET /admin/users/:id needs users:manage, which `admin` grants); auth-api shows
    // them on GET /me. admin-api made the change, so it evicts the user's sessions after the commit;
    // the change also goes out on the feed as an eviction (an event that revokes nothing), so
    // auth-api drops its cached row within milliseconds, not after its TTL. Both clocks are frozen,
    // so no entry expires by time.
    freezeClock(auth);
    freezeClock(admin);
    const user = await givenUser(auth);
    const session = await givenCookieSession(auth, user);
    const readUserAtAdmin = () => withCookie(admin, session, 'GET', `/admin/users/${user.id}`);
    const adminReads = countSessionReads(admin);

    // Both processes cache the session with no roles.
    expect((await readUserAtAdmin()).statusCode).toBe(403);
    expect((await readUserAtAdmin()).statusCode).toBe(403);
    expect(adminReads()).toBe(1);
    expect(await rolesAt(auth, session)).toEqual([]);

    const grant = await asOperator('PUT', `/admin/users/${user.id}/roles`, { roles: ['admin'] });
    expect(grant.statusCode).toBe(200);
    expect(grant.json()).toMatchObject({ id: user.id, roles: ['admin'] });

    // admin-api: evicted in-process, the next request reads the new roles.
    expect((await readUserAtAdmin()).statusCode).toBe(200);
    expect(adminReads()).toBe(2);
    // auth-api: evicted through the feed.
    await expect
      .poll(() => rolesAt(auth, session), { timeout: 2000, interval: 5 })
      .toEqual(['admin']);

    // Taking the role away (the direction that matters most): refused at admin-api at once, and
    // gone at auth-api as soon as the feed delivers; the session itself stays alive.
    const withdraw = await asOperator('PUT', `/admin/users/${user.id}/roles`, { roles: [] });
    expect(withdraw.statusCode).toBe(200);
    const refused = await readUserAtAdmin();
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN' });
    await expect.poll(() => rolesAt(auth, session), { timeout: 2000, interval: 5 }).toEqual([]);
    expect((await me(auth, session)).statusCode).toBe(200);
  });
});
