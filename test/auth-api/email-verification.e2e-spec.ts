import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { uniqueEmail } from '../support/factories.js';
import {
  givenCookieSession,
  givenUser,
  type TestUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { LogCapture } from '../support/log-capture.js';
import { linkToken, VERIFICATION_LINK_INVALID } from '../support/mail-links.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const ISSUER = 'http://localhost:3000';
const ARRIVAL = { timeout: 20_000, interval: 100 };

/**
 * Issue 18, email verification end to end: registration mails a link over real SMTP (smtp-server in
 * this process), the page it opens asks for a click, and the address is verified in /me, userinfo
 * and ID tokens. On a database of its own, so no other file's mail reaches this worker.
 */
describe('email verification', () => {
  let app: NestFastifyApplication;
  let inbox: SmtpInbox;
  const logs = new LogCapture();

  beforeAll(async () => {
    inbox = await SmtpInbox.on();
    app = await givenAuthApi(
      {
        DATABASE_URL: await freshDatabaseUrl('verify', { migrated: true }),
        SMTP_URL: inbox.url,
        JOB_POLL_INTERVAL_MS: '200',
        EMAIL_VERIFICATION_MAILS_PER_USER: '3',
        LOG_LEVEL: 'debug',
      },
      { logDestination: logs },
    );
  });
  afterAll(async () => {
    await app.close();
    await inbox.stop();
  });

  async function verificationToken(email: string, count = 1): Promise<string> {
    await vi.waitFor(() => expect(inbox.to(email)).toHaveLength(count), ARRIVAL);
    return linkToken(inbox.to(email).at(-1), '/verify-email');
  }

  async function verifiedAt(user: TestUser): Promise<Date | null> {
    const [row] = await app
      .get(DataSource)
      .query<{ at: Date | null }[]>('SELECT email_verified_at AS at FROM users WHERE id = $1', [
        user.id,
      ]);
    return row!.at;
  }

  function verify(token: string) {
    return app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token } });
  }

  it('mails a link at registration; the page asks for a click, which verifies the address everywhere', async () => {
    const user = await givenUser(app);
    const token = await verificationToken(user.email);
    const [message] = inbox.to(user.email);
    expect(message!.subject).toBe('Confirm your email address for Gatehouse');
    expect(message!.html).toContain(`href="${ISSUER}/verify-email?token=${token}"`);
    const session = await givenCookieSession(app, user);
    const before = await withCookie(app, session, 'GET', '/me');
    expect(before.json()).toMatchObject({ user: { email: user.email, emailVerified: false } });

    // Mail scanners open links: the page itself changes nothing.
    const page = await app.inject({ method: 'GET', url: `/verify-email?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['referrer-policy']).toBe('strict-origin');
    expect(page.body).toContain(
      `<form method="post" action="/verify-email">\n<input type="hidden" name="token" value="${token}">`,
    );
    expect(await verifiedAt(user)).toBeNull();

    const confirmed = await app.inject({
      method: 'POST',
      url: '/verify-email',
      headers: { origin: ISSUER },
      payload: { token },
    });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('Your email address is confirmed.');
    expect(await verifiedAt(user)).toBeInstanceOf(Date);

    const me = await withCookie(app, session, 'GET', '/me');
    expect(me.json()).toMatchObject({ user: { email: user.email, emailVerified: true } });

    const tokens = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'password',
        client_id: 'gatehouse-first-party',
        username: user.email,
        password: user.password,
        scope: 'openid email',
      },
    });
    expect(tokens.statusCode).toBe(200);
    const { id_token: idToken, access_token: accessToken } = tokens.json<{
      id_token: string;
      access_token: string;
    }>();
    expect(decodeJwt(idToken)).toMatchObject({
      sub: user.id,
      email: user.email,
      email_verified: true,
    });
    const userinfo = await app.inject({
      method: 'GET',
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.json()).toEqual({ sub: user.id, email: user.email, email_verified: true });

    const audit = await app
      .get(DataSource)
      .query<{ action: string }[]>(
        `SELECT action FROM audit_events WHERE subject = $1 AND action LIKE 'user.email%' ORDER BY at`,
        [`user:${user.id}`],
      );
    expect(audit.map((event) => event.action)).toEqual(['user.email_verified']);
  });

  it('POST /auth/email/verify: 204 once, then 400 VERIFICATION_TOKEN_INVALID', async () => {
    const user = await givenUser(app);
    const token = await verificationToken(user.email);

    expect((await verify(token)).statusCode).toBe(204);
    const firstVerification = await verifiedAt(user);
    const again = await verify(token);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual(VERIFICATION_LINK_INVALID);
    expect(await verifiedAt(user)).toEqual(firstVerification);
  });

  it('refuses unknown, malformed, expired and superseded tokens, changing nothing', async () => {
    const user = await givenUser(app);
    const first = await verificationToken(user.email);
    const session = await givenCookieSession(app, user);
    const resent = await withCookie(app, session, 'POST', '/me/email/verification');
    expect(resent.statusCode).toBe(202);
    const second = await verificationToken(user.email, 2);
    await app
      .get(DataSource)
      .query(
        `UPDATE email_verifications SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND token_hash = sha256($2::bytea)`,
        [user.id, Buffer.from(second)],
      );

    for (const token of [first, second, 'A'.repeat(43), 'not a token', '']) {
      const response = await verify(token);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(VERIFICATION_LINK_INVALID);
    }
    const page = await app.inject({
      method: 'POST',
      url: '/verify-email',
      headers: { origin: ISSUER },
      payload: { token: first },
    });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('This link is invalid or has expired');
    expect(await verifiedAt(user)).toBeNull();
  });

  it('POST /me/email/verification: a new link within the budget, then 429 with Retry-After; 409 once verified', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    await verificationToken(user.email);

    // The registration mail counts: 3 per window, so two more.
    for (let sent = 2; sent <= 3; sent += 1) {
      const response = await withCookie(app, session, 'POST', '/me/email/verification');
      expect(response.statusCode).toBe(202);
      expect(response.body).toBe('');
    }
    const refused = await withCookie(app, session, 'POST', '/me/email/verification');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      statusCode: 429,
      error: 'RATE_LIMITED',
      message: 'Too many attempts. Retry later.',
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);

    const newest = await verificationToken(user.email, 3);
    expect((await verify(newest)).statusCode).toBe(204);
    const done = await withCookie(app, session, 'POST', '/me/email/verification');
    expect(done.statusCode).toBe(409);
    expect(done.json()).toEqual({
      statusCode: 409,
      error: 'EMAIL_ALREADY_VERIFIED',
      message: 'The email address is already verified.',
    });
  });

  it('answers POST /me/email/verification for bearer callers with the account scope, and is CSRF-checked for cookies', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/me/email/verification',
      headers: { cookie: session.cookie, origin: 'https://evil.example' },
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json()).toMatchObject({ error: 'CSRF_REJECTED' });

    const tokens = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'password',
        client_id: 'gatehouse-first-party',
        username: user.email,
        password: user.password,
        scope: 'account',
      },
    });
    const bearer = await app.inject({
      method: 'POST',
      url: '/me/email/verification',
      headers: { authorization: `Bearer ${tokens.json<{ access_token: string }>().access_token}` },
    });
    expect(bearer.statusCode).toBe(202);
    await verificationToken(user.email, 2);
  });

  it('never logs a link token, in a URL, a query, a Referer or a body', async () => {
    const user = await givenUser(app);
    const token = await verificationToken(user.email);
    await app.inject({
      method: 'GET',
      url: `/verify-email?token=${token}`,
      headers: { referer: `${ISSUER}/verify-email?token=${token}` },
    });
    await app.inject({
      method: 'GET',
      url: '/assets/gatehouse.css',
      headers: { referer: `${ISSUER}/verify-email?token=${token}` },
    });
    await verify(token);
    await verify(token);

    expect(logs.lines.some((line) => line.includes('/verify-email'))).toBe(true);
    expect(logs.lines.filter((line) => line.includes(token))).toEqual([]);
  });

  it('registers an address for a new user once, whatever its letter case', async () => {
    const email = uniqueEmail();
    const response = await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { origin: TRUSTED_ORIGIN },
      payload: { email: email.toUpperCase(), password: 'correct horse battery staple' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ email, emailVerified: false });
    await verificationToken(email);
  });
});
