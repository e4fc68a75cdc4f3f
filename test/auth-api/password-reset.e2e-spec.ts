import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import {
  givenCookieSession,
  givenTokens,
  givenUser,
  login,
  SESSION_REVOKED,
  type TestUser,
  type TokenResponse,
  withCookie,
} from '../support/http.js';
import { LogCapture } from '../support/log-capture.js';
import { MAIL_ARRIVAL, waitForResetLink } from '../support/reset-mail.js';
import { SmtpInbox } from '../support/smtp-inbox.js';
import { freePort, givenAuthApi, givenNotesApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const NEW_PASSWORD = 'a brand new passphrase';
const RESET_TOKEN_INVALID = {
  statusCode: 400,
  error: 'RESET_TOKEN_INVALID',
  message: 'This password reset link is invalid or has expired. Ask for a new one.',
};
const ACCEPTED = {
  message: 'If an account has this address, a link to choose a new password is on its way.',
};
/** Headers that differ between any two responses, whatever they answer. */
const PER_RESPONSE_HEADERS = new Set(['x-request-id', 'date']);
const TTL_SECONDS = 1800;

let nextAddress = 0;
/** A client address of its own per call, so the per-IP limit only counts where a test means it. */
const freshIp = () => `10.0.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

/**
 * Password reset through the API (`POST /auth/password/forgot`, `POST /auth/password/reset`), with
 * the real worker turning requests into mail over real SMTP (smtp-server in this process), on a
 * database of its own so that no other file's worker takes these jobs. notes-api (a sibling that
 * verifies JWTs locally) shows that the reset reaches every service through the revocation feed.
 */
describe('password reset', () => {
  let auth: NestFastifyApplication;
  let notes: NestFastifyApplication;
  let inbox: SmtpInbox;
  let db: DataSource;
  let issuer: string;
  const logs = new LogCapture();

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl('reset', { migrated: true });
    inbox = await SmtpInbox.on();
    // Listening, with ISSUER its own URL: notes-api discovers it there, and links point to it.
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    auth = await givenAuthApi(
      {
        ISSUER: issuer,
        DATABASE_URL: databaseUrl,
        SMTP_URL: inbox.url,
        JOB_POLL_INTERVAL_MS: '200',
        LOG_LEVEL: 'debug',
        PASSWORD_RESET_REQUESTS_PER_IP: '5',
      },
      { logDestination: logs },
    );
    await auth.listen(port, '127.0.0.1');
    db = auth.get(DataSource);
    notes = await givenNotesApi(issuer, { DATABASE_URL: databaseUrl });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await notes?.close();
    await auth?.close();
    await inbox?.stop();
  });

  function forgot(email: string, ip = freshIp()): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email },
      remoteAddress: ip,
    });
  }

  function reset(token: string, newPassword = NEW_PASSWORD): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, newPassword },
    });
  }

  async function linkFor(user: { email: string }, count = 1): Promise<string> {
    expect((await forgot(user.email)).statusCode).toBe(202);
    return (await waitForResetLink(inbox, user.email, count)).token;
  }

  async function passwordHashOf(user: TestUser): Promise<string> {
    const [row] = await db.query<{ password_hash: string }[]>(
      'SELECT password_hash FROM users WHERE id = $1',
      [user.id],
    );
    return row!.password_hash;
  }

  async function liveSessionsOf(user: TestUser): Promise<string[]> {
    const rows = await db.query<{ id: string }[]>(
      'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id',
      [user.id],
    );
    return rows.map((row) => row.id);
  }

  /** The account as a failed reset must leave it: same hash, same live sessions. */
  async function stateOf(user: TestUser) {
    return { hash: await passwordHashOf(user), sessions: await liveSessionsOf(user) };
  }

  async function requestJobsLeft(): Promise<number> {
    const [row] = await db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM graphile_worker.jobs
       WHERE task_identifier = 'password-reset.request'`,
    );
    return row!.count;
  }

  function refresh(tokens: TokenResponse): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'refresh_token',
        client_id: 'gatehouse-first-party',
        refresh_token: tokens.refresh_token,
      },
    });
  }

  describe('POST /auth/password/forgot', () => {
    it('answers a known, an unknown and a disabled address alike: 202, same body, same headers', async () => {
      const known = await givenUser(auth);
      const disabled = await givenUser(auth);
      await db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.id]);

      const answers = await Promise.all(
        [known.email, uniqueEmail('nobody'), disabled.email].map(async (email) => {
          const response = await forgot(email);
          const headers = Object.entries(response.headers).filter(
            ([name]) => !PER_RESPONSE_HEADERS.has(name),
          );
          return { status: response.statusCode, body: response.body, headers };
        }),
      );

      expect(answers[0]!.status).toBe(202);
      expect(JSON.parse(answers[0]!.body)).toEqual(ACCEPTED);
      expect(answers[0]!.headers).toContainEqual(['cache-control', 'no-store']);
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
    });

    it('mails a link to an account, and nothing to an unknown or a disabled address', async () => {
      const known = await givenUser(auth);
      const disabled = await givenUser(auth);
      await db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [disabled.id]);
      const unknown = uniqueEmail('nobody');

      for (const email of [unknown, disabled.email, known.email]) {
        expect((await forgot(email)).statusCode).toBe(202);
      }

      const link = await waitForResetLink(inbox, known.email);
      await vi.waitFor(async () => expect(await requestJobsLeft()).toBe(0), MAIL_ARRIVAL);
      expect(link.url).toBe(`${issuer}/reset-password?token=${link.token}`);
      expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Registration mailed each account a verification link: only reset mails count here.
      const resetMails = (email: string) =>
        inbox
          .to(email)
          .filter((mail) => mail.subject !== 'Confirm your email address for Gatehouse');
      const [message] = resetMails(known.email);
      expect(message!.subject).toBe('Reset your Gatehouse password');
      expect(message!.text).toContain(`within ${TTL_SECONDS / 60} minutes`);
      expect(resetMails(unknown)).toEqual([]);
      expect(resetMails(disabled.email)).toEqual([]);
      const rows = await db.query<{ user_id: string }[]>(
        'SELECT user_id FROM password_resets WHERE user_id = ANY($1)',
        [[known.id, disabled.id]],
      );
      expect(rows).toEqual([{ user_id: known.id }]);
      const [stored] = await db.query<{ token_hash: Buffer }[]>(
        'SELECT token_hash FROM password_resets WHERE user_id = $1',
        [known.id],
      );
      expect(stored!.token_hash.toString('base64url')).not.toBe(link.token);
      expect(stored!.token_hash).toHaveLength(32);
    });

    it('limits requests per address, known or not, with 429 and Retry-After', async () => {
      const known = await givenUser(auth);
      for (const email of [known.email, uniqueEmail('nobody')]) {
        for (let request = 0; request < 3; request += 1) {
          expect((await forgot(email)).statusCode).toBe(202);
        }
        const refused = await forgot(email.toUpperCase());
        expect(refused.statusCode).toBe(429);
        expect(refused.json()).toEqual({
          statusCode: 429,
          error: 'RATE_LIMITED',
          message: 'Too many attempts. Retry later.',
        });
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3000);
      }
    });

    it('limits requests per client IP, whatever the address', async () => {
      const ip = freshIp();
      for (let request = 0; request < 5; request += 1) {
        expect((await forgot(uniqueEmail('nobody'), ip)).statusCode).toBe(202);
      }
      const refused = await forgot(uniqueEmail('nobody'), ip);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect((await forgot(uniqueEmail('nobody'))).statusCode).toBe(202);
    });

    it('refuses a missing or malformed email with field messages', async () => {
      for (const payload of [{}, { email: 'not an address' }, { email: 'a@b.c', extra: 1 }]) {
        const response = await auth.inject({
          method: 'POST',
          url: '/auth/password/forgot',
          payload,
        });
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
      }
    });
  });

  describe('POST /auth/password/reset', () => {
    it('sets the password and ends every session: cookie, refresh tokens, and bearer at notes-api', async () => {
      const user = await givenUser(auth);
      const cookie = await givenCookieSession(auth, user);
      const tokens = await givenTokens(auth, user);
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      expect(
        (await notes.inject({ method: 'GET', url: '/notes', headers: bearer })).statusCode,
      ).toBe(200);
      const token = await linkFor(user);

      const response = await reset(token);

      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      expect((await withCookie(auth, cookie, 'GET', '/me')).json()).toEqual(SESSION_REVOKED);
      expect((await refresh(tokens)).json()).toMatchObject({ error: 'invalid_grant' });
      await vi.waitFor(async () => {
        const refused = await notes.inject({ method: 'GET', url: '/notes', headers: bearer });
        expect(refused.statusCode).toBe(401);
      });
      expect((await login(auth, user)).statusCode).toBe(401);
      expect((await login(auth, { ...user, password: NEW_PASSWORD })).statusCode).toBe(200);
      const revoked = await db.query<{ revoked_reason: string; revoked_by: string }[]>(
        'SELECT DISTINCT revoked_reason, revoked_by FROM sessions WHERE id = ANY($1)',
        [[cookie.sessionId]],
      );
      expect(revoked).toEqual([
        { revoked_reason: 'password_reset', revoked_by: `user:${user.id}` },
      ]);
    });

    it('mails the "password changed" notice and audits user.password_reset with the ended sessions', async () => {
      const user = await givenUser(auth);
      const cookie = await givenCookieSession(auth, user);
      const token = await linkFor(user);

      expect((await reset(token)).statusCode).toBe(204);

      await vi.waitFor(
        () =>
          expect(inbox.to(user.email).map((message) => message.subject)).toContain(
            'Your Gatehouse password was changed',
          ),
        MAIL_ARRIVAL,
      );
      const events = await db.query<{ actor: string; subject: string; details: unknown }[]>(
        `SELECT actor, subject, details FROM audit_events
         WHERE action = 'user.password_reset' AND subject = $1`,
        [`user:${user.id}`],
      );
      expect(events).toEqual([
        {
          actor: `user:${user.id}`,
          subject: `user:${user.id}`,
          details: { revokedSessionIds: [cookie.sessionId] },
        },
      ]);
      const requested = await db.query<{ action: string }[]>(
        `SELECT action FROM audit_events WHERE action = 'user.password_reset_requested'
         AND subject = $1`,
        [`user:${user.id}`],
      );
      expect(requested).toHaveLength(1);
    });

    it('refuses a used token (replay) and changes nothing', async () => {
      const user = await givenUser(auth);
      const token = await linkFor(user);
      expect((await reset(token)).statusCode).toBe(204);
      await givenCookieSession(auth, { ...user, password: NEW_PASSWORD });
      const before = await stateOf(user);

      const replay = await reset(token, 'yet another passphrase');

      expect(replay.statusCode).toBe(400);
      expect(replay.json()).toEqual(RESET_TOKEN_INVALID);
      expect(await stateOf(user)).toEqual(before);
    });

    it('refuses an expired token and changes nothing', async () => {
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      const token = await linkFor(user);
      const before = await stateOf(user);
      const clock = auth.get(Clock);
      const now = Date.now();

      vi.spyOn(clock, 'now').mockReturnValue(new Date(now + (TTL_SECONDS + 1) * 1000));
      const expired = await reset(token);
      vi.restoreAllMocks();

      expect(expired.json()).toEqual(RESET_TOKEN_INVALID);
      expect(await stateOf(user)).toEqual(before);
      expect(before.sessions).toEqual([session.sessionId]);
    });

    it('works until just before the expiry', async () => {
      const user = await givenUser(auth);
      const token = await linkFor(user);
      const clock = auth.get(Clock);

      vi.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + (TTL_SECONDS - 60) * 1000));

      expect((await reset(token)).statusCode).toBe(204);
    });

    it('refuses a token superseded by a newer request and changes nothing; the newer one works', async () => {
      const user = await givenUser(auth);
      await givenCookieSession(auth, user);
      const first = await linkFor(user, 1);
      const second = await linkFor(user, 2);
      const before = await stateOf(user);

      expect((await reset(first)).json()).toEqual(RESET_TOKEN_INVALID);
      expect(await stateOf(user)).toEqual(before);
      expect((await reset(second)).statusCode).toBe(204);
    });

    it('refuses a token sent before a password change (POST /me/password) and changes nothing', async () => {
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      const token = await linkFor(user);
      const changed = await withCookie(auth, session, 'POST', '/me/password', {
        currentPassword: user.password,
        newPassword: 'the password I chose myself',
      });
      expect(changed.statusCode).toBe(204);
      const before = await stateOf(user);

      expect((await reset(token)).json()).toEqual(RESET_TOKEN_INVALID);
      expect(await stateOf(user)).toEqual(before);
      expect(
        (await login(auth, { ...user, password: 'the password I chose myself' })).statusCode,
      ).toBe(200);
    });

    it('refuses an unknown token, and a token whose account was disabled since', async () => {
      const user = await givenUser(auth);
      const token = await linkFor(user);
      await db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);

      expect((await reset('A'.repeat(43))).json()).toEqual(RESET_TOKEN_INVALID);
      expect((await reset('not even the shape of a token')).json()).toEqual(RESET_TOKEN_INVALID);
      expect((await reset(token)).json()).toEqual(RESET_TOKEN_INVALID);
    });

    it('applies the password policy (400 with field messages) without spending the token', async () => {
      const user = await givenUser(auth);
      const token = await linkFor(user);
      const before = await stateOf(user);

      const common = await reset(token, 'password');
      const asEmail = await reset(token, user.email);
      const missing = await auth.inject({
        method: 'POST',
        url: '/auth/password/reset',
        payload: { newPassword: NEW_PASSWORD },
      });

      expect(common.statusCode).toBe(400);
      expect(common.json()).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'newPassword', messages: [expect.any(String)] }],
      });
      expect(asEmail.json()).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'newPassword' }],
      });
      expect(missing.json()).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'token', messages: ['token is required'] }],
      });
      expect(await stateOf(user)).toEqual(before);
      expect((await reset(token)).statusCode).toBe(204);
    });

    it('writes no token to the log: not from the mail, the page URL, its Referer or the body', async () => {
      const user = await givenUser(auth, STRONG_PASSWORD);
      const token = await linkFor(user);
      const page = await auth.inject({
        method: 'GET',
        url: `/reset-password?token=${token}`,
        headers: { referer: `${issuer}/reset-password?token=${token}` },
      });
      expect(page.statusCode).toBe(200);
      expect((await reset(token)).statusCode).toBe(204);

      const lines = logs.lines.join('\n');
      expect(lines).toContain('/reset-password?token=%5Bredacted%5D');
      expect(lines).not.toContain(token);
    });
  });
});
