import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MailService } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  type TestUser,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const ARRIVAL = { timeout: 20_000, interval: 100 };

interface ListedMail {
  id: string;
  recipient: string;
  template: string;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  sentAt: string | null;
}

/**
 * Dead mail, as operators meet it: SMTP stays down through every attempt (MAIL_MAX_ATTEMPTS=2), the
 * mail is kept as `dead` and listed at GET /admin/mail, and POST /admin/mail/:id/retry sends it once
 * SMTP is back. On a database of its own, so its worker sees only its own mail.
 */
describe('GET /admin/mail and POST /admin/mail/:id/retry', () => {
  let inbox: SmtpInbox;
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let operator: CookieSession;

  beforeAll(async () => {
    inbox = await SmtpInbox.on({ listening: false });
    const env = {
      DATABASE_URL: await freshDatabaseUrl('mailadmin', { migrated: true }),
      SMTP_URL: inbox.url,
      MAIL_MAX_ATTEMPTS: '2',
      JOB_POLL_INTERVAL_MS: '200',
    };
    auth = await givenAuthApi(env);
    admin = await givenAdminApi(env);
    const user = await givenUser(auth);
    await auth.get(Database).users.addRole(user.id, 'admin');
    operator = await givenCookieSession(auth, user);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
    await inbox?.stop();
  });

  const list = async (query = '') => {
    const response = await withCookie(admin, operator, 'GET', `/admin/mail${query}`);
    expect(response.statusCode).toBe(200);
    return response.json<{ items: ListedMail[]; nextCursor: string | null }>();
  };

  async function givenPasswordChange(): Promise<TestUser> {
    const user = await givenUser(auth);
    const session = await givenCookieSession(auth, user);
    const response = await withCookie(auth, session, 'POST', '/me/password', {
      currentPassword: user.password,
      newPassword: 'a new and longer passphrase',
    });
    expect(response.statusCode).toBe(204);
    return user;
  }

  // Registration mails a verification link too: these tests follow the password-changed notice.
  const listedFor = async (email: string, query = '') =>
    (await list(query)).items.find(
      (mail) => mail.recipient === email && mail.template === 'password-changed',
    );

  it('keeps a mail that keeps failing as dead, lists it, and a retry delivers it once', async () => {
    const user = await givenPasswordChange();
    await vi.waitFor(
      async () => expect((await listedFor(user.email, '?status=dead'))?.status).toBe('dead'),
      ARRIVAL,
    );
    const dead = (await listedFor(user.email, '?status=dead'))!;
    expect(dead).toEqual({
      id: expect.any(String),
      recipient: user.email,
      template: 'password-changed',
      status: 'dead',
      attempts: 2,
      lastError: expect.stringMatching(/^ESOCKET: connect ECONNREFUSED/),
      createdAt: expect.any(String),
      lastAttemptAt: expect.any(String),
      sentAt: null,
    });
    expect(await listedFor(user.email, '?status=sent')).toBeUndefined();

    await inbox.start();
    const retried = await withCookie(admin, operator, 'POST', `/admin/mail/${dead.id}/retry`);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id: dead.id, status: 'queued', attempts: 2 });

    await vi.waitFor(() => expect(inbox.to(user.email)).toHaveLength(1), ARRIVAL);
    await vi.waitFor(async () =>
      expect(await listedFor(user.email)).toMatchObject({
        status: 'sent',
        attempts: 3,
        lastError: null,
      }),
    );
    const events = await auth.get(Database).auditEvents.listForSubject(`mail:${dead.id}`);
    expect(events.map(({ action, actor }) => ({ action, actor }))).toEqual([
      { action: 'admin.mail_retried', actor: expect.stringMatching(/^user:/) },
    ]);

    const again = await withCookie(admin, operator, 'POST', `/admin/mail/${dead.id}/retry`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({
      statusCode: 409,
      error: 'MAIL_NOT_RETRYABLE',
      message: 'Only a failed or dead mail can be retried.',
    });
    expect(inbox.to(user.email)).toHaveLength(1);
  });

  it('answers 404 for an unknown mail', async () => {
    const response = await withCookie(
      admin,
      operator,
      'POST',
      '/admin/mail/00000000-0000-4000-8000-000000000000/retry',
    );
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'MAIL_NOT_FOUND',
      message: 'No such mail.',
    });
  });

  it('pages newest first with a cursor, and refuses an unknown status', async () => {
    const database = auth.get(Database);
    const mail = auth.get(MailService);
    for (let index = 0; index < 3; index += 1) {
      await database.transaction((repositories) =>
        mail.enqueue(repositories, {
          template: 'password-changed',
          to: `page-${index}-${Date.now()}@example.com`,
          params: { changedAt: new Date().toISOString() },
        }),
      );
    }
    const first = await list('?limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((item) => item.id)).not.toContain(first.items[0]!.id);
    expect(Date.parse(second.items[0]!.createdAt)).toBeLessThanOrEqual(
      Date.parse(first.items[1]!.createdAt),
    );

    const bad = await admin.inject({
      method: 'GET',
      url: '/admin/mail?status=lost',
      headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
    });
    expect(bad.statusCode).toBe(400);
  });
});
