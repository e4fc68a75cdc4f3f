import { randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MailService } from '@gatehouse/identity';
import { Database, type MailMessage } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  type TestUser,
  withCookie,
} from '../support/http.js';
import { LogCapture } from '../support/log-capture.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const ISSUER = 'http://localhost:3000';
const NEW_PASSWORD = 'a new and longer passphrase';
const ARRIVAL = { timeout: 20_000, interval: 100 };

/**
 * Mail that is never lost, end to end: a password change enqueues its notice in the change's own
 * transaction, auth-api's worker delivers it over real SMTP (smtp-server in this process), and an
 * outage, a restart or a rolled-back change neither loses nor duplicates it. On a database of its own,
 * so no other file's mail reaches these workers.
 */
describe('mail delivery', () => {
  let databaseUrl: string;
  const apps: NestFastifyApplication[] = [];
  const inboxes: SmtpInbox[] = [];

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl('mail', { migrated: true });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(inboxes.splice(0).map((inbox) => inbox.stop()));
  });

  async function givenInbox(options?: { listening: boolean }): Promise<SmtpInbox> {
    const inbox = await SmtpInbox.on(options);
    inboxes.push(inbox);
    return inbox;
  }

  async function givenApp(
    inbox: SmtpInbox,
    env: Record<string, string> = {},
    logDestination?: LogCapture,
  ): Promise<NestFastifyApplication> {
    const app = await givenAuthApi(
      {
        DATABASE_URL: databaseUrl,
        SMTP_URL: inbox.url,
        JOB_POLL_INTERVAL_MS: '200',
        ...env,
      },
      logDestination ? { logDestination } : {},
    );
    apps.push(app);
    return app;
  }

  async function changePassword(
    app: NestFastifyApplication,
    user: TestUser,
    session: CookieSession,
  ) {
    const response = await withCookie(app, session, 'POST', '/me/password', {
      currentPassword: user.password,
      newPassword: NEW_PASSWORD,
    });
    expect(response.statusCode).toBe(204);
  }

  async function givenPasswordChange(app: NestFastifyApplication): Promise<TestUser> {
    const user = await givenUser(app);
    await changePassword(app, user, await givenCookieSession(app, user));
    return user;
  }

  /** Registration mails a verification link too: these tests follow the password-changed notice. */
  const noticesTo = (inbox: SmtpInbox, email: string) =>
    inbox.to(email).filter((message) => message.subject?.endsWith('password was changed'));

  async function mailTo(
    app: NestFastifyApplication,
    email: string,
    template = 'password-changed',
  ): Promise<MailMessage> {
    const rows = await app.get(DataSource).query<MailMessage[]>(
      `SELECT id, status, attempts, last_error AS "lastError", secret_sealed AS "secretSealed",
           sent_at AS "sentAt" FROM mail_messages WHERE recipient = $1 AND template = $2`,
      [email, template],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('mails the password-changed notice to the user, as text and HTML, once', async () => {
    const inbox = await givenInbox();
    const app = await givenApp(inbox);
    const user = await givenPasswordChange(app);

    await vi.waitFor(() => expect(noticesTo(inbox, user.email)).toHaveLength(1), ARRIVAL);
    const [message] = noticesTo(inbox, user.email);
    expect(message!.subject).toBe('Your Gatehouse password was changed');
    expect(message!.from?.value).toEqual([{ name: 'Gatehouse', address: 'no-reply@localhost' }]);
    expect(message!.text).toContain(
      `The password of your Gatehouse account ${user.email} was changed on`,
    );
    expect(message!.text).toContain(`choose a new one at once at ${ISSUER}/forgot-password`);
    expect(message!.html).toContain(`<strong>${user.email}</strong>`);
    expect(message!.html).toContain(`<a href="${ISSUER}/forgot-password">choose a new one</a>`);
    await vi.waitFor(async () => expect((await mailTo(app, user.email)).status).toBe('sent'));
    expect(await mailTo(app, user.email)).toMatchObject({ attempts: 1, lastError: null });
  });

  it('uses PRODUCT_NAME and MAIL_FROM, and escapes what it puts into HTML', async () => {
    const inbox = await givenInbox();
    const app = await givenApp(inbox, {
      PRODUCT_NAME: 'Acme <ID>',
      MAIL_FROM: 'Acme Accounts <accounts@acme.example>',
    });
    const user = await givenPasswordChange(app);

    await vi.waitFor(() => expect(noticesTo(inbox, user.email)).toHaveLength(1), ARRIVAL);
    const [message] = noticesTo(inbox, user.email);
    expect(message!.subject).toBe('Your Acme <ID> password was changed');
    expect(message!.from?.value).toEqual([
      { name: 'Acme Accounts', address: 'accounts@acme.example' },
    ]);
    expect(message!.html).toContain('Acme &lt;ID&gt;');
    expect(message!.html).not.toContain('Acme <ID>');
  });

  it('sends nothing when NOTIFY_PASSWORD_CHANGED is false', async () => {
    const inbox = await givenInbox();
    const app = await givenApp(inbox, { NOTIFY_PASSWORD_CHANGED: 'false' });
    const user = await givenPasswordChange(app);
    const rows = await app
      .get(DataSource)
      .query('SELECT id FROM mail_messages WHERE recipient = $1 AND template = $2', [
        user.email,
        'password-changed',
      ]);
    expect(rows).toEqual([]);
  });

  it('keeps the mail failed while SMTP is down, then delivers it once SMTP is back', async () => {
    const inbox = await givenInbox({ listening: false });
    const app = await givenApp(inbox);
    const user = await givenPasswordChange(app);

    await vi.waitFor(
      async () => expect((await mailTo(app, user.email)).status).toBe('failed'),
      ARRIVAL,
    );
    const failed = await mailTo(app, user.email);
    expect(failed.attempts).toBeGreaterThanOrEqual(1);
    expect(failed.lastError).toMatch(/^ESOCKET: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);

    await inbox.start();
    await vi.waitFor(() => expect(noticesTo(inbox, user.email)).toHaveLength(1), ARRIVAL);
    await vi.waitFor(async () => expect((await mailTo(app, user.email)).status).toBe('sent'));
    expect(await mailTo(app, user.email)).toMatchObject({
      attempts: failed.attempts + 1,
      lastError: null,
    });
  });

  it('sends a mail enqueued before auth-api stopped after the restart, exactly once', async () => {
    const inbox = await givenInbox();
    // An instance without a worker: the mail is committed and queued, and nobody sends it.
    const stopped = await givenApp(inbox, { JOB_WORKER_CONCURRENCY: '0' });
    const user = await givenPasswordChange(stopped);
    expect((await mailTo(stopped, user.email)).status).toBe('queued');
    await stopped.close();
    apps.splice(apps.indexOf(stopped), 1);

    // Two instances come back: the queue's locks give the mail to one of them.
    const [first] = await Promise.all([givenApp(inbox), givenApp(inbox)]);
    await vi.waitFor(
      async () => expect((await mailTo(first, user.email)).status).toBe('sent'),
      ARRIVAL,
    );
    const { id } = await mailTo(first, user.email);
    // The task marks the mail sent before it returns; the queue deletes the job just after.
    await vi.waitFor(async () => {
      const jobs = await first
        .get(DataSource)
        .query('SELECT id FROM graphile_worker.jobs WHERE key = $1', [`mail:${id}`]);
      expect(jobs).toEqual([]);
    }, ARRIVAL);
    expect(noticesTo(inbox, user.email)).toHaveLength(1);
  });

  it('enqueues nothing when the change that causes the mail rolls back', async () => {
    const inbox = await givenInbox();
    const app = await givenApp(inbox, { JOB_WORKER_CONCURRENCY: '0' });
    const dataSource = app.get(DataSource);
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const hashBefore = (await app.get(Database).users.findById(user.id))?.passwordHash;
    // Jobs enqueued from here on (counting every job would race with other instances' workers).
    const [started] = await dataSource.query<{ since: Date }[]>(
      'SELECT clock_timestamp() AS since',
    );
    const since = started!.since;
    // The mail row is the last write of the change: refusing it rolls the whole change back,
    // including the job enqueued just before it.
    await dataSource.query(`CREATE FUNCTION refuse_mail() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'mail refused by the test'; END $$`);
    await dataSource.query(`CREATE TRIGGER refuse_mail BEFORE INSERT ON mail_messages
      FOR EACH ROW WHEN (NEW.recipient = '${user.email}') EXECUTE FUNCTION refuse_mail()`);
    try {
      const response = await withCookie(app, session, 'POST', '/me/password', {
        currentPassword: user.password,
        newPassword: NEW_PASSWORD,
      });
      expect(response.statusCode).toBe(500);
    } finally {
      await dataSource.query('DROP TRIGGER refuse_mail ON mail_messages');
      await dataSource.query('DROP FUNCTION refuse_mail()');
    }
    expect((await app.get(Database).users.findById(user.id))?.passwordHash).toBe(hashBefore);
    expect(
      await dataSource.query<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM graphile_worker.jobs WHERE created_at >= $1',
        [since],
      ),
    ).toEqual([{ count: 0 }]);
    expect(
      await dataSource.query(
        "SELECT id FROM mail_messages WHERE recipient = $1 AND template = 'password-changed'",
        [user.email],
      ),
    ).toEqual([]);
  });

  it('keeps a link token sealed at rest, wipes it once sent, and never logs it', async () => {
    const inbox = await givenInbox({ listening: false });
    const logs = new LogCapture();
    const app = await givenApp(inbox, { LOG_LEVEL: 'debug', MAIL_MAX_ATTEMPTS: '3' }, logs);
    const token = randomBytes(32).toString('base64url');
    const email = `reset-${randomBytes(4).toString('hex')}@example.com`;
    await app.get(Database).transaction((repositories) =>
      app.get(MailService).enqueue(repositories, {
        template: 'password-reset',
        to: email,
        params: { expiresInMinutes: 30 },
        secret: { token },
      }),
    );

    await vi.waitFor(
      async () => expect((await mailTo(app, email, 'password-reset')).status).toBe('failed'),
      ARRIVAL,
    );
    const sealed = (await mailTo(app, email, 'password-reset')).secretSealed;
    expect(sealed).toBeInstanceOf(Buffer);
    expect(sealed!.toString('latin1')).not.toContain(token);
    expect(sealed!.toString('base64url')).not.toContain(token);

    await inbox.start();
    await vi.waitFor(() => expect(inbox.to(email)).toHaveLength(1), ARRIVAL);
    const [message] = inbox.to(email);
    const link = `${ISSUER}/reset-password?token=${token}`;
    expect(message!.subject).toBe('Reset your Gatehouse password');
    expect(message!.text).toContain(link);
    expect(message!.html).toContain(`href="${link}"`);
    await vi.waitFor(async () =>
      expect((await mailTo(app, email, 'password-reset')).status).toBe('sent'),
    );
    expect((await mailTo(app, email, 'password-reset')).secretSealed).toBeNull();

    expect(logs.lines.some((line) => line.includes('sent'))).toBe(true);
    expect(logs.lines.filter((line) => line.includes(token))).toEqual([]);
    expect(logs.lines.filter((line) => line.includes('reset-password?'))).toEqual([]);
  });
});
