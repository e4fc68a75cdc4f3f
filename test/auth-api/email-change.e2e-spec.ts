import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { uniqueEmail } from '../support/factories.js';
import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { linkToken, VERIFICATION_LINK_INVALID } from '../support/mail-links.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const ISSUER = 'http://localhost:3000';
const ARRIVAL = { timeout: 20_000, interval: 100 };

/**
 * Issue 18, email change end to end over real SMTP: the password again, a confirmation link to the
 * new address, a notice with a cancel link to the old one, and the change applied only on
 * confirmation. On a database of its own, so no other file's mail reaches this worker.
 */
describe('POST /me/email', () => {
  let app: NestFastifyApplication;
  let inbox: SmtpInbox;

  beforeAll(async () => {
    inbox = await SmtpInbox.on();
    app = await givenAuthApi({
      DATABASE_URL: await freshDatabaseUrl('email_change', { migrated: true }),
      SMTP_URL: inbox.url,
      JOB_POLL_INTERVAL_MS: '200',
    });
  });
  afterAll(async () => {
    await app.close();
    await inbox.stop();
  });

  function requestChange(session: CookieSession, newEmail: string, password: string) {
    return withCookie(app, session, 'POST', '/me/email', { newEmail, password });
  }

  async function mailTo(email: string, subject: string) {
    await vi.waitFor(
      () => expect(inbox.to(email).filter((mail) => mail.subject === subject)).toHaveLength(1),
      ARRIVAL,
    );
    return inbox.to(email).find((mail) => mail.subject === subject);
  }

  const noticeTo = (user: TestUser) =>
    mailTo(user.email, 'Your Gatehouse email address is about to change');
  const confirmationTo = (email: string) =>
    mailTo(email, 'Confirm your new email address for Gatehouse');

  async function emailOf(user: TestUser): Promise<{ email: string; verifiedAt: Date | null }> {
    const [row] = await app
      .get(DataSource)
      .query<{ email: string; verifiedAt: Date | null }[]>(
        'SELECT email, email_verified_at AS "verifiedAt" FROM users WHERE id = $1',
        [user.id],
      );
    return row!;
  }

  it('mails the new address a confirmation and the old one a notice; the change applies on confirmation', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const newEmail = uniqueEmail('renamed');

    const accepted = await requestChange(session, newEmail.toUpperCase(), user.password);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.body).toBe('');

    const notice = await noticeTo(user);
    expect(notice!.text).toContain(`to ${newEmail}. It changes once the new address is confirmed.`);
    linkToken(notice, '/cancel-email-change');
    const token = linkToken(await confirmationTo(newEmail), '/confirm-email-change');
    expect(await emailOf(user)).toEqual({ email: user.email, verifiedAt: null });
    expect((await login(app, { email: newEmail, password: user.password })).statusCode).toBe(401);

    const page = await app.inject({ method: 'GET', url: `/confirm-email-change?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['referrer-policy']).toBe('strict-origin');
    expect((await emailOf(user)).email).toBe(user.email);
    const confirmed = await app.inject({
      method: 'POST',
      url: '/confirm-email-change',
      headers: { origin: ISSUER },
      payload: { token },
    });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('Your account now uses this address.');

    expect(await emailOf(user)).toEqual({ email: newEmail, verifiedAt: expect.any(Date) });
    expect((await login(app, { email: newEmail, password: user.password })).statusCode).toBe(200);
    expect((await login(app, user)).statusCode).toBe(401);
    // Sessions stay signed in, and /me shows the new address at once (the cache was evicted).
    const me = await withCookie(app, session, 'GET', '/me');
    expect(me.json()).toMatchObject({ user: { email: newEmail, emailVerified: true } });

    const again = await app.inject({
      method: 'POST',
      url: '/auth/email/change/confirm',
      payload: { token },
    });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual(VERIFICATION_LINK_INVALID);
    const audit = await app
      .get(DataSource)
      .query<{ action: string; details: Record<string, unknown> }[]>(
        `SELECT action, details FROM audit_events WHERE subject = $1 AND action LIKE 'user.email_change%' ORDER BY at`,
        [`user:${user.id}`],
      );
    expect(audit).toEqual([
      {
        action: 'user.email_change_requested',
        details: { from: user.email, to: newEmail, addressTaken: false },
      },
      { action: 'user.email_changed', details: { from: user.email, to: newEmail } },
    ]);
  });

  it('voids the change when the old address cancels it', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const newEmail = uniqueEmail('cancelled');
    expect((await requestChange(session, newEmail, user.password)).statusCode).toBe(202);
    const cancel = linkToken(await noticeTo(user), '/cancel-email-change');
    const confirm = linkToken(await confirmationTo(newEmail), '/confirm-email-change');

    const page = await app.inject({ method: 'GET', url: `/cancel-email-change?token=${cancel}` });
    expect(page.statusCode).toBe(200);
    const cancelled = await app.inject({
      method: 'POST',
      url: '/cancel-email-change',
      headers: { origin: ISSUER },
      payload: { token: cancel },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.body).toContain('The change is cancelled.');

    const confirmed = await app.inject({
      method: 'POST',
      url: '/auth/email/change/confirm',
      payload: { token: confirm },
    });
    expect(confirmed.statusCode).toBe(400);
    expect(confirmed.json()).toEqual(VERIFICATION_LINK_INVALID);
    const twice = await app.inject({
      method: 'POST',
      url: '/auth/email/change/cancel',
      payload: { token: cancel },
    });
    expect(twice.json()).toEqual(VERIFICATION_LINK_INVALID);
    expect(await emailOf(user)).toEqual({ email: user.email, verifiedAt: null });
  });

  it('answers a taken address exactly like a free one, and mails it nothing', async () => {
    const owner = await givenUser(app);
    const taken = await givenUser(app);
    const session = await givenCookieSession(app, owner);
    const free = await requestChange(session, uniqueEmail('free'), owner.password);
    const answered = await requestChange(session, taken.email, owner.password);

    expect(answered.statusCode).toBe(free.statusCode);
    expect(answered.body).toBe(free.body);
    const headers = (response: typeof free) =>
      Object.fromEntries(
        Object.entries(response.headers).filter(
          ([name]) => !['date', 'x-request-id'].includes(name),
        ),
      );
    expect(headers(answered)).toEqual(headers(free));
    await vi.waitFor(
      () =>
        expect(
          inbox.to(owner.email).filter((mail) => mail.text?.includes(`to ${taken.email}.`)),
        ).toHaveLength(1),
      ARRIVAL,
    );
    const toTaken = await app
      .get(DataSource)
      .query<{ template: string }[]>('SELECT template FROM mail_messages WHERE recipient = $1', [
        taken.email,
      ]);
    expect(toTaken).toEqual([{ template: 'email-verification' }]);
    expect((await emailOf(owner)).email).toBe(owner.email);
  });

  it('answers 409 EMAIL_TAKEN at confirmation when another account took the address since, changing nothing', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const newEmail = uniqueEmail('raced');
    expect((await requestChange(session, newEmail, user.password)).statusCode).toBe(202);
    const token = linkToken(await confirmationTo(newEmail), '/confirm-email-change');
    const registered = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: newEmail, password: 'another strong passphrase' },
    });
    expect(registered.statusCode).toBe(201);

    const confirmed = await app.inject({
      method: 'POST',
      url: '/auth/email/change/confirm',
      payload: { token },
    });
    expect(confirmed.statusCode).toBe(409);
    expect(confirmed.json()).toEqual({
      statusCode: 409,
      error: 'EMAIL_TAKEN',
      message: 'An account with this email already exists.',
    });
    expect(await emailOf(user)).toEqual({ email: user.email, verifiedAt: null });
  });

  it('needs the current password, and refuses the current address', async () => {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);

    const wrong = await requestChange(session, uniqueEmail(), 'not the right password');
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toEqual({
      statusCode: 400,
      error: 'VALIDATION_FAILED',
      message: 'The request is invalid.',
      details: [{ field: 'password', messages: ['password is incorrect'] }],
    });
    const same = await requestChange(session, user.email, user.password);
    expect(same.statusCode).toBe(400);
    expect(same.json()).toMatchObject({
      error: 'VALIDATION_FAILED',
      details: [
        { field: 'newEmail', messages: ['newEmail is already the address of the account'] },
      ],
    });
    const rows = await app
      .get(DataSource)
      .query('SELECT id FROM email_verifications WHERE user_id = $1 AND purpose = $2', [
        user.id,
        'change',
      ]);
    expect(rows).toEqual([]);
  });
});
