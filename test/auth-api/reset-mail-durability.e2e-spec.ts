import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ensureBundles } from '../support/bundles.js';
import { givenUser, givenUserAt, type TestUser } from '../support/http.js';
import { killHard, launchAuthApi } from '../support/auth-api-process.js';
import type { LaunchedProcess } from '../support/launched-process.js';
import { resetLinksTo } from '../support/reset-mail.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

/** Generous: a slow CI machine, the retry backoff, a process start. Never a timing assertion. */
const EVENTUALLY = { timeout: 60_000, interval: 200 };
const NEW_PASSWORD = 'a password chosen after the outage';
const START_MS = 60_000;

interface MailRow {
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
}

/**
 * Issue 18, acceptance 2: a reset mail survives an SMTP outage and an auth-api killed between the
 * enqueue and the send, and is sent exactly once per token. Each case on a database of its own, so
 * no other file's worker takes these jobs.
 */
describe('reset mail durability', () => {
  let database: pg.Client;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl('reset-durability', { migrated: true });
    database = new pg.Client({ connectionString: databaseUrl });
    await database.connect();
  });
  afterAll(async () => {
    await database?.end();
  });

  async function resetMailOf(user: TestUser): Promise<MailRow | undefined> {
    const { rows } = await database.query<MailRow>(
      `SELECT status, attempts, last_error AS "lastError" FROM mail_messages
       WHERE recipient = $1 AND template = 'password-reset'`,
      [user.email],
    );
    expect(rows.length).toBeLessThanOrEqual(1);
    return rows[0];
  }

  async function resetLinkRowsOf(user: TestUser): Promise<number> {
    const { rows } = await database.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM password_resets WHERE user_id = $1',
      [user.id],
    );
    return rows[0]!.count;
  }

  describe('SMTP down when the reset is requested', () => {
    let app: NestFastifyApplication | undefined;
    let inbox: SmtpInbox | undefined;
    afterEach(async () => {
      await app?.close();
      await inbox?.stop();
    });

    it('keeps the reset mail failed, then delivers it once when SMTP comes up, and its link works', async () => {
      inbox = await SmtpInbox.on({ listening: false });
      app = await givenAuthApi({
        DATABASE_URL: databaseUrl,
        SMTP_URL: inbox.url,
        JOB_POLL_INTERVAL_MS: '200',
      });
      const user = await givenUser(app);
      const forgot = await app.inject({
        method: 'POST',
        url: '/auth/password/forgot',
        payload: { email: user.email },
      });
      expect(forgot.statusCode).toBe(202);

      // The "30 s later" is about the retry schedule, not the wall clock: 30 s of outage are
      // the attempts at 0, 2.7, 10 and 30 s (e^n backoff). What must hold is that a mail that
      // already failed more than once is still tried again and sent, so SMTP starts once the mail
      // has failed twice, whenever that is.
      await expect
        .poll(async () => (await resetMailOf(user))?.attempts ?? 0, EVENTUALLY)
        .toBeGreaterThanOrEqual(2);
      const failed = await resetMailOf(user);
      expect(failed).toMatchObject({ status: 'failed' });
      expect(failed!.lastError).toMatch(/^ESOCKET: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);

      await inbox.start();
      await expect.poll(async () => (await resetMailOf(user))?.status, EVENTUALLY).toBe('sent');
      const links = resetLinksTo(inbox, user.email);
      expect(links).toHaveLength(1);
      expect(await resetLinkRowsOf(user)).toBe(1);

      const reset = await app.inject({
        method: 'POST',
        url: '/auth/password/reset',
        payload: { token: links[0]!.token, newPassword: NEW_PASSWORD },
      });
      expect(reset.statusCode).toBe(204);
    });
  });

  /**
   * auth-api as production runs it (`node dist/auth-api.js`), killed with SIGKILL: no shutdown hook
   * runs, so whatever the worker held stays as it was in the database.
   */
  describe('auth-api killed between the enqueue and the send', () => {
    const processes: LaunchedProcess[] = [];
    const inboxes: SmtpInbox[] = [];

    beforeAll(async () => {
      await ensureBundles();
    }, 300_000);
    afterEach(async () => {
      for (const proc of processes.splice(0)) {
        if (proc.child.exitCode === null && proc.child.signalCode === null) {
          proc.child.kill('SIGTERM');
          await proc.finished(30_000).catch(() => undefined);
        }
      }
      await Promise.all(inboxes.splice(0).map((inbox) => inbox.stop()));
    }, 60_000);

    async function givenInbox(): Promise<SmtpInbox> {
      const inbox = await SmtpInbox.on();
      inboxes.push(inbox);
      return inbox;
    }

    /** A listening auth-api child process on the test database; answers its URL once it is ready. */
    async function startAuthApi(
      inbox: SmtpInbox,
      env: Record<string, string> = {},
    ): Promise<{ proc: LaunchedProcess; url: string }> {
      const started = await launchAuthApi(
        { DATABASE_URL: databaseUrl, SMTP_URL: inbox.url, JOB_POLL_INTERVAL_MS: '200', ...env },
        START_MS,
      );
      processes.push(started.proc);
      return started;
    }

    async function forgot(url: string, user: TestUser): Promise<void> {
      const response = await fetch(`${url}/auth/password/forgot`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email }),
      });
      expect(response.status).toBe(202);
    }

    /** After the restart: one reset mail accepted by SMTP, one live link, and it is the mailed one. */
    async function expectSentOnceAndWorking(url: string, inbox: SmtpInbox, user: TestUser) {
      await expect.poll(async () => (await resetMailOf(user))?.status, EVENTUALLY).toBe('sent');
      const links = resetLinksTo(inbox, user.email);
      expect(links).toHaveLength(1);
      expect(await resetLinkRowsOf(user)).toBe(1);
      const reset = await fetch(`${url}/auth/password/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: links[0]!.token, newPassword: NEW_PASSWORD }),
      });
      expect(reset.status).toBe(204);
    }

    it(
      'sends the reset mail after a restart when auth-api was killed before its worker took the job',
      async () => {
        const inbox = await givenInbox();
        // No worker: the request is committed to the queue and nobody has taken it yet.
        const first = await startAuthApi(inbox, { JOB_WORKER_CONCURRENCY: '0' });
        const user = await givenUserAt(first.url);
        await forgot(first.url, user);
        await killHard(first.proc);

        const second = await startAuthApi(inbox);
        await expectSentOnceAndWorking(second.url, inbox, user);
      },
      START_MS * 3,
    );

    it(
      'sends the reset mail once after a restart when auth-api was killed in the middle of the SMTP send',
      async () => {
        const inbox = await givenInbox();
        // The dead worker's lock is released once older than JOB_STALE_LOCK_SECONDS; 1 s here so the
        // test need not wait out the default 300 s (a bound for live sends, which this one is not).
        const env = { JOB_STALE_LOCK_SECONDS: '1' };
        const first = await startAuthApi(inbox, env);
        const user = await givenUserAt(first.url);
        // Registration mails a verification link first: let it through, then hold the reset mail.
        await expect.poll(() => inbox.to(user.email).length, EVENTUALLY).toBe(1);
        const held = inbox.holdNextDelivery();
        await forgot(first.url, user);
        await held;
        expect(await resetMailOf(user)).toMatchObject({ status: 'queued', attempts: 0 });
        await killHard(first.proc);

        const second = await startAuthApi(inbox, env);
        await expectSentOnceAndWorking(second.url, inbox, user);
        expect(second.proc.output).toMatch(/Released the jobs of 1 worker\(s\)/);
      },
      START_MS * 3,
    );
  });
});
