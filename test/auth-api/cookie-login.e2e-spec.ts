import { createHash } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  COOKIE_NAME,
  givenCookieSession,
  givenUser,
  login,
  setCookies,
  withCookie,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

/** Splits a Set-Cookie header into its name=value and its attributes, lower-cased names. */
function parseSetCookie(header: string): { name: string; value: string; attributes: string[] } {
  const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
  const separator = pair.indexOf('=');
  return {
    name: pair.slice(0, separator),
    value: pair.slice(separator + 1),
    attributes: attributes.map((attribute) => attribute.replace(/^[^=]+/, (n) => n.toLowerCase())),
  };
}

describe('POST /auth/login', () => {
  let app: NestFastifyApplication;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  it('sets exactly one HttpOnly, Secure, SameSite=Lax, Path=/ cookie lasting until the absolute expiry', async () => {
    const user = await givenUser(app);
    const response = await login(app, user);
    expect(response.statusCode).toBe(200);
    const cookies = setCookies(response);
    expect(cookies).toHaveLength(1);
    const cookie = parseSetCookie(cookies[0]!);
    expect(cookie.name).toBe(COOKIE_NAME);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes.sort()).toEqual(
      ['httponly', 'max-age=604800', 'path=/', 'samesite=Lax', 'secure'].sort(),
    );
  });

  it('answers with the user and the session, and no secret', async () => {
    const user = await givenUser(app);
    const response = await login(app, user, { userAgent: 'Gatehouse tests' });
    const { session, ...rest } = response.json<{
      session: { id: string; expiresAt: string; createdAt: string };
    }>();
    expect(rest).toEqual({
      user: {
        id: user.id,
        email: user.email,
        emailVerified: false,
        roles: [],
        createdAt: expect.any(String),
      },
    });
    expect(session).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      kind: 'cookie',
      createdAt: expect.any(String),
      lastSeenAt: expect.any(String),
      idleExpiresAt: expect.any(String),
      expiresAt: expect.any(String),
      ip: '127.0.0.1',
      userAgent: 'Gatehouse tests',
      client: null,
      amr: ['pwd'],
      authTime: session.createdAt,
      identityProvider: null,
    });
    const lifetime = Date.parse(session.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(604_700_000);
    expect(lifetime).toBeLessThanOrEqual(604_800_000);
    const token = parseSetCookie(setCookies(response)[0]!).value;
    expect(response.body).not.toContain(token);
    expect(response.body).not.toContain(user.password);
  });

  it('stores the SHA-256 of the cookie value and never the value itself', async () => {
    const user = await givenUser(app);
    const { sessionId, token } = await givenCookieSession(app, user);
    const [row] = await dataSource.query<{ token_hash: Buffer; kind: string }[]>(
      'SELECT token_hash, kind FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(row?.kind).toBe('cookie');
    expect(row?.token_hash).toEqual(createHash('sha256').update(token).digest());
    const [counted] = await dataSource.query<{ found: number }[]>(
      `SELECT count(*)::int AS found FROM sessions
       WHERE user_id = $1 AND (encode(token_hash, 'escape') LIKE '%' || $2 || '%'
         OR user_agent LIKE '%' || $2 || '%')`,
      [user.id, token],
    );
    expect(counted?.found).toBe(0);
  });

  it('revokes the session the browser already carried and issues a new token (fixation)', async () => {
    const user = await givenUser(app);
    const first = await givenCookieSession(app, user);
    const second = await givenCookieSession(app, user, { cookie: first.cookie });
    expect(second.token).not.toBe(first.token);
    expect(second.sessionId).not.toBe(first.sessionId);

    const old = await withCookie(app, first, 'GET', '/me');
    expect(old.statusCode).toBe(401);
    expect(old.json()).toMatchObject({ error: 'SESSION_REVOKED' });
    expect((await withCookie(app, second, 'GET', '/me')).statusCode).toBe(200);
    const [row] = await dataSource.query<{ revoked_reason: string; revoked_by: string }[]>(
      'SELECT revoked_reason, revoked_by FROM sessions WHERE id = $1',
      [first.sessionId],
    );
    expect(row).toEqual({ revoked_reason: 'replaced_by_login', revoked_by: `user:${user.id}` });
  });

  it('revokes a carried session even when a different user signs in on that browser', async () => {
    const alice = await givenUser(app);
    const bob = await givenUser(app);
    const alicesSession = await givenCookieSession(app, alice);
    await givenCookieSession(app, bob, { cookie: alicesSession.cookie });
    expect((await withCookie(app, alicesSession, 'GET', '/me')).statusCode).toBe(401);
  });

  it('ignores a malformed or unknown carried cookie and still signs in', async () => {
    const user = await givenUser(app);
    const response = await login(app, user, { cookie: `${COOKIE_NAME}=garbage` });
    expect(response.statusCode).toBe(200);
  });

  it('records login.succeeded with the session, without the password', async () => {
    const user = await givenUser(app);
    const { sessionId } = await givenCookieSession(app, user);
    const rows = await dataSource.query<{ actor: string; ip: string; details: object }[]>(
      `SELECT actor, host(ip) AS ip, details FROM audit_events
       WHERE subject = $1 AND action = 'login.succeeded'`,
      [`user:${user.id}`],
    );
    expect(rows).toEqual([
      {
        actor: `user:${user.id}`,
        ip: '127.0.0.1',
        details: { sessionId, kind: 'cookie', replacedSessionId: null, amr: ['pwd'] },
      },
    ]);
    expect(JSON.stringify(rows)).not.toContain(user.password);
  });

  it.each([
    [{}, ['email', 'password']],
    [{ email: 'not-an-email', password: 'x' }, ['email']],
    [{ email: 'a@example.com', password: '' }, ['password']],
    [{ email: 'a@example.com', password: 'p'.repeat(129) }, ['password']],
    [{ email: 'a@example.com', password: 'long enough', extra: 1 }, ['extra']],
  ])('refuses the body %j with 400 VALIDATION_FAILED', async (payload, fields) => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload,
      headers: { origin: 'http://localhost:3000' },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ error: string; details: { field: string }[] }>();
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.details.map(({ field }) => field)).toEqual(fields);
    expect(setCookies(response)).toEqual([]);
  });
});

describe('POST /auth/login behind an https issuer', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({
      ISSUER: 'https://auth.example.com',
      TRUSTED_ORIGINS: 'https://app.example.com',
    });
  });
  afterAll(() => app.close());

  it('names the cookie __Host-gh_session and accepts it back', async () => {
    const user = await givenUser(app);
    const response = await login(app, user, { origin: 'https://app.example.com' });
    const cookie = parseSetCookie(setCookies(response)[0]!);
    expect(cookie.name).toBe('__Host-gh_session');
    // __Host- cookies must be Secure, Path=/ and carry no Domain (RFC 6265bis §4.1.3.2).
    expect(cookie.attributes).toEqual(expect.arrayContaining(['secure', 'path=/']));
    expect(cookie.attributes.some((attribute) => attribute.startsWith('domain'))).toBe(false);
    const me = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { cookie: `__Host-gh_session=${cookie.value}` },
    });
    expect(me.statusCode).toBe(200);
    const plain = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { cookie: `gh_session=${cookie.value}` },
    });
    expect(plain.statusCode).toBe(401);
  });
});
